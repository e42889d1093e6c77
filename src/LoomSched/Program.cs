// Before anything is read: SIGHUP's default action would end a daemon that is still starting (see Hangup).
if (args is ["run", ..])
{
    LoomSched.Daemon.Hosting.Hangup.Take();
}
return LoomSched.Daemon.Cli.Run(args);
