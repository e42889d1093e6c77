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
        services.AddOptions<GreetingOptions>()
            .Configure(o =>
            {
                o.Text = configuration["GREETING_TEXT"] ?? o.Text;
                o.Count = int.TryParse(configuration["GREETING_COUNT"], out int count) ? count : o.Count;
            })
            .Validate(o => o.Count is >= 1 and <= 100, "GREETING_COUNT must be a number from 1 to 100")
            .ValidateOnStart();
    }
}
