using OpenQA.Selenium.Chrome;

namespace Ladder.Testing;

/// <summary>
/// Debian's chromium and chromedriver (installed by .ci/install-deps), headless, with a fresh profile; nothing is
/// downloaded. One file, compiled into every test project that drives a page (linked from tests/Shared).
/// </summary>
public sealed class HeadlessChromium : IDisposable
{
    public const string ChromiumPath = "/usr/bin/chromium";
    public const string DriverPath = "/usr/bin/chromedriver";

    private readonly DirectoryInfo _profile = Directory.CreateTempSubdirectory("ladder-chromium-");

    /// <param name="windowWidth">The window's width in pixels.</param>
    /// <param name="windowHeight">The window's height in pixels.</param>
    /// <param name="hideScrollbars">Whether scroll bars take no room (a layout check then measures the page alone).</param>
    public HeadlessChromium(int windowWidth = 1280, int windowHeight = 1024, bool hideScrollbars = false)
    {
        var service = ChromeDriverService.CreateDefaultService(Path.GetDirectoryName(DriverPath)!, Path.GetFileName(DriverPath));
        service.HideCommandPromptWindow = true;
        service.SuppressInitialDiagnosticInformation = true;
        var options = new ChromeOptions { BinaryLocation = ChromiumPath };
        options.AddArguments(
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
            "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync",
            $"--window-size={windowWidth},{windowHeight}", $"--user-data-dir={_profile.FullName}");
        if (hideScrollbars)
        {
            options.AddArgument("--hide-scrollbars");
        }

        Driver = new ChromeDriver(service, options, TimeSpan.FromSeconds(60));
    }

    public ChromeDriver Driver { get; }

    public static bool IsInstalled => File.Exists(ChromiumPath) && File.Exists(DriverPath);

    /// <summary>Lays pages out at <paramref name="width"/> x <paramref name="height"/> CSS pixels (device scale 1) by device-metrics emulation.</summary>
    public void SetViewport(int width, int height, bool mobile = false) =>
        Driver.ExecuteCdpCommand("Emulation.setDeviceMetricsOverride", new Dictionary<string, object?>
        {
            ["width"] = width,
            ["height"] = height,
            ["deviceScaleFactor"] = 1,
            ["mobile"] = mobile,
        });

    /// <summary>
    /// Saves the viewport as <c>screenshots/NAME.png</c> in the test's work folder, and also under
    /// <paramref name="docsFolder"/> (relative to the repository root) when LADDER_UPDATE_SCREENSHOTS=1: that is how the
    /// committed screenshots are made, so an ordinary test run never rewrites the repository.
    /// </summary>
    /// <returns>The path in the work folder.</returns>
    public string SaveScreenshot(string name, string docsFolder)
    {
        var folder = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, name + ".png");
        Driver.GetScreenshot().SaveAsFile(path);
        if (Environment.GetEnvironmentVariable("LADDER_UPDATE_SCREENSHOTS") == "1")
        {
            var docs = Path.Combine(RepoRoot(), docsFolder);
            Directory.CreateDirectory(docs);
            File.Copy(path, Path.Combine(docs, name + ".png"), overwrite: true);
        }

        return path;
    }

    private static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ladder.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Ladder.sln not found above " + AppContext.BaseDirectory);
    }

    public void Dispose()
    {
        Driver.Quit();
        Driver.Dispose();
        try
        {
            _profile.Delete(recursive: true);
        }
        catch (IOException)
        {
            // The browser may still be closing its profile; the OS temp cleanup gets it.
        }
    }
}
