using System.Text;
using GenerationWorker.Silo.Cli;
using GenerationWorker.TestSupport;
using Microsoft.Extensions.Logging.Abstractions;

namespace GenerationWorker.Silo.Tests.Cli;

public sealed class WatchCommandTests(CliDatabase db) : IClassFixture<CliDatabase>, IAsyncLifetime
{
    private readonly ConcurrentWriter _out = new();
    private readonly CancellationTokenSource _ctrlC = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _ctrlC.CancelAsync();
        await db.Jobs.ExecuteAsync("DELETE FROM generation_job");
    }

    [Fact]
    public async Task Watch_NotOnATerminal_PrintsEachChangeOnceUntilNothingIsActive()
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p", settings = new { numberOfVariants = 2 } });
        var watch = Start(ansi: false);
        await ShowsAsync($"{id}  image_generation  pending ");

        await db.Jobs.ExecuteAsync("UPDATE generation_job SET status = 'processing', attempts = 1, progress = 50 WHERE id = @id", ("id", id));
        await ShowsAsync("processing  [############............]  50%  attempt 1/3");
        await db.Jobs.ExecuteAsync(
            "UPDATE generation_job SET status = 'completed', progress = 100, completed_at = now() WHERE id = @id", ("id", id));

        Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(30)));
        var lines = _out.Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.Contains(" pending ", lines[0]);
        Assert.Contains(" processing ", lines[1]);
        Assert.Contains("completed   [########################] 100%", lines[2]);
        Assert.Equal("no job is pending or processing", lines[3]);
        Assert.DoesNotContain('\u001b', _out.Text);
    }

    [Fact]
    public async Task Watch_OnATerminal_RedrawsTheViewInPlace()
    {
        var id = await db.Jobs.InsertAsync("image_edit", new { sourceImageUrl = "https://h/a.png", editPrompt = "p" });
        var watch = Start(ansi: true);
        await ShowsAsync("1 pending or processing");
        await ShowsAsync("\u001b[2F\u001b[0J");

        await db.Jobs.ExecuteAsync(
            "UPDATE generation_job SET status = 'failed', attempts = 3, error = 'Gemini rejected the request', completed_at = now() WHERE id = @id",
            ("id", id));

        Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(30)));
        var lastFrame = _out.Text[(_out.Text.LastIndexOf("\u001b[0J", StringComparison.Ordinal) + 4)..];
        Assert.StartsWith("0 pending or processing, 1 ended in the last 30 s", lastFrame);
        Assert.Contains($"{id}  image_edit        failed ", lastFrame);
        Assert.Contains("Gemini rejected the request", lastFrame);
        Assert.EndsWith("no job is pending or processing\n", lastFrame);
    }

    [Fact]
    public async Task Watch_ShowsAJobWaitingForItsRetryAsWaiting_AndCtrlCEndsItWith0()
    {
        var id = await db.Jobs.InsertAsync("image_generation", new { prompt = "p" }, delay: TimeSpan.FromMinutes(10));
        await db.Jobs.ExecuteAsync("UPDATE generation_job SET attempts = 1, error = 'Gemini error 503: overloaded' WHERE id = @id", ("id", id));
        var watch = Start(ansi: false);
        await ShowsAsync($"{id}  image_generation  waiting ");

        await _ctrlC.CancelAsync();

        Assert.Equal(0, await watch.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Gemini error 503: overloaded", _out.Text);
        Assert.DoesNotContain("no job is pending or processing", _out.Text);
    }

    [Fact]
    public async Task Watch_WithNothingActive_EndsAtOnce()
    {
        var result = await db.RunAsync("watch", "--interval-ms", "50");
        Assert.Equal(0, result.ExitCode);
        Assert.Equal("no job is pending or processing", result.Out.Trim());
    }

    [Theory]
    [InlineData("--interval-ms", "10")]
    [InlineData("--interval-ms", "soon")]
    [InlineData("now")]
    public async Task Watch_BadArguments_ExitWith2(params string[] arguments)
    {
        var result = await db.RunAsync(["watch", .. arguments]);
        Assert.Equal(OperatorCli.UsageError, result.ExitCode);
        Assert.StartsWith("watch: ", result.Error);
    }

    private Task<int> Start(bool ansi) => Task.Run(() => OperatorCli.RunAsync(
        ["watch", "--interval-ms", "50"], new GenerationWorker.Silo.Configuration.DatabaseSettings { ConnectionString = db.ConnectionString }, _out, new StringWriter(), ansi, NullLoggerFactory.Instance, _ctrlC.Token));

    /// <summary>Waits until the watch has written <paramref name="text"/>.</summary>
    private Task ShowsAsync(string text) => Eventually.UntilAsync(
        () => _out.Text.Contains(text, StringComparison.Ordinal), TimeSpan.FromSeconds(30), $"the watch shows \"{text}\"",
        TimeSpan.FromMilliseconds(20), () => _out.Text);

    /// <summary>A writer the watch writes to on one thread while the test reads it on another.</summary>
    private sealed class ConcurrentWriter : TextWriter
    {
        private readonly StringBuilder _text = new();

        public override Encoding Encoding => Encoding.UTF8;

        public string Text
        {
            get
            {
                lock (_text)
                {
                    return _text.ToString();
                }
            }
        }

        public override void Write(char value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_text)
            {
                _text.Append(value);
            }
        }
    }
}
