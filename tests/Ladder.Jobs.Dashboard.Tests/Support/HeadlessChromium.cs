using System.Drawing;
using OpenQA.Selenium;
using OpenQA.Selenium.Chrome;

namespace Ladder.Jobs.Dashboard.Tests.Support;

/// <summary>
/// Debian's chromium and chromedriver (installed by .ci/install-deps), headless, with a fresh profile; nothing is
/// downloaded. The viewport width is set with device-metrics emulation, so 390 px means a 390 px layout viewport.
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
            "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
            "--hide-scrollbars", $"--user-data-dir={_profile.Path}");
        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public ChromeDriver Driver { get; }

    public static bool IsInstalled => File.Exists(ChromiumPath) && File.Exists(DriverPath);

    /// <summary>Lays pages out at this CSS width (a phone at 390, a laptop at 1280) and height.</summary>
    public void SetViewport(int width, int height)
    {
        Driver.Manage().Window.Size = new Size(Math.Max(width, 500), height + 200);
        Driver.ExecuteCdpCommand("Emulation.setDeviceMetricsOverride", new Dictionary<string, object?>
        {
            ["width"] = width,
            ["height"] = height,
            ["deviceScaleFactor"] = 1,
            ["mobile"] = width < 600,
        });
    }

    public void SaveScreenshot(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        ((ITakesScreenshot)Driver).GetScreenshot().SaveAsFile(path);
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        _profile.Dispose();
    }
}
