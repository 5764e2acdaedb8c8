using System.Diagnostics;

namespace GenerationWorker.Silo.Tests.Operators;

/// <summary>Debian's <c>chromium</c>, headless: the page as a browser renders it (DOM after parsing) and a screenshot.</summary>
/// <remarks>A missing browser fails the test, saying how to install it; it never skips.</remarks>
public static class HeadlessChromium
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    /// <summary>The DOM of <paramref name="url"/> once loaded (<c>--dump-dom</c>); credentials may be in the URL.</summary>
    public static Task<string> DumpDomAsync(string url) => RunAsync("--dump-dom", url);

    /// <summary>Writes a PNG of <paramref name="url"/> to <paramref name="path"/>.</summary>
    public static async Task ScreenshotAsync(string url, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Delete(path);
        await RunAsync("--screenshot=" + path, "--window-size=1400,1800", url);
        Assert.True(File.Exists(path) && new FileInfo(path).Length > 0, "chromium wrote no screenshot at " + path);
    }

    private static async Task<string> RunAsync(params string[] arguments)
    {
        var executable = new[] { "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        Assert.True(executable is not null, "chromium is not installed: apt-get install -y chromium (.ci/run installs it)");
        var start = new ProcessStartInfo(executable!)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // A fresh profile per run: nothing (cached pages, remembered credentials) carries over between loads.
        var profile = Path.Combine(Path.GetTempPath(), "chromium-" + Guid.NewGuid().ToString("N"));
        foreach (var argument in (string[])["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--no-first-run", "--user-data-dir=" + profile, .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"chromium did not finish within {Timeout.TotalSeconds} s");
        }
        finally
        {
            try
            {
                Directory.Delete(profile, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        Assert.True(process.ExitCode == 0, $"chromium exited with {process.ExitCode}: {await stderr}");
        return await stdout;
    }
}
