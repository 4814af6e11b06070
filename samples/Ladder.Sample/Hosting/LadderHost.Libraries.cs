namespace Ladder.Sample.Hosting;

internal static partial class LadderHost
{
    private static void AddLibraries(IServiceCollection services, LadderOptions options, string databasePath)
    {
        services.AddSingleton<LadderViews>();
        services.AddSingleton<ReplayIntake>();
    }
}
