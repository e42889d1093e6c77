using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LoomSched.Daemon;

/// <summary>
/// Services for your expansion functions (README, "Services for expansion functions"). The daemon already offers
/// <c>INatsConnection</c>, <c>ILoggerFactory</c>, <c>ILogger&lt;T&gt;</c>, <c>IConfiguration</c> (the environment),
/// <c>TimeProvider</c> and the loaded <c>SchedulerConfig</c>; a function asks with <c>context.GetService&lt;T&gt;()</c>.
/// </summary>
internal static class ExpansionServices
{
    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        // Register yours here, e.g.:
        //   services.AddSingleton<SessionStore>();
        //   services.Configure<SessionOptions>(o => o.Path = configuration["SESSIONS_PATH"] ?? "/var/lib/loom/sessions");
        _ = services;
        _ = configuration;
    }
}
