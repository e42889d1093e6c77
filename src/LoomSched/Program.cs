return LoomSched.Daemon.Cli.Run(args);
