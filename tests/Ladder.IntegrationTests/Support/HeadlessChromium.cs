using OpenQA.Selenium.Chrome;

namespace Ladder.IntegrationTests.Support;

/// <summary>
/// Debian's chromium and chromedriver (installed by .ci/run), headless, with a fresh profile; nothing is downloaded.
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";

    private readonly TempFolder _profile = new();

    public HeadlessChromium()
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync", "--window-size=1280,1024",
            $"--user-data-dir={_profile.Path}");
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public ChromeDriver Driver { get; }

    public static bool IsInstalled => File.Exists(ChromiumPath) && File.Exists(DriverPath);

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        _profile.Dispose();
    }
}
