// The user's copy of src/LoomSched/ExpansionServices.cs: it registers what Greetings.cs asks for.
using Acme.Greetings;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LoomSched.Daemon;

internal static class ExpansionServices
{
    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton<GreetingCounter>();
        services.Configure<GreetingOptions>(o =>
        {
            o.Text = configuration["GREETING_TEXT"] ?? o.Text;
            o.Count = int.TryParse(configuration["GREETING_COUNT"], out int count) ? count : o.Count;
        });
    }
}
