using System.Text.Json;
using GenerationWorker.Silo.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Silo.Tests.Hosting;

public sealed class LoggingExtensionsTests
{
    [Theory]
    [InlineData(null, false, LogFormat.Json)]
    [InlineData(null, true, LogFormat.Text)]
    [InlineData(LogFormat.Json, true, LogFormat.Json)]
    [InlineData(LogFormat.Text, false, LogFormat.Text)]
    public void Format_IsJsonOffATerminalUnlessConfigured(LogFormat? configured, bool terminal, LogFormat expected) =>
        Assert.Equal(expected, LoggingExtensions.Resolve(configured, terminal));

    [Fact]
    public void Json_WritesOneLinePerEntryWithPlaceholdersAndScopesAsFields()
    {
        using var services = new ServiceCollection().AddLogging(logging => logging.AddWorkerConsole(LogFormat.Json)).BuildServiceProvider();
        var (formatter, options) = Formatter(services);
        Assert.Equal(ConsoleFormatterNames.Json, options.FormatterName);
        var scopes = new LoggerExternalScopeProvider();
        using var scope = scopes.Push(new Dictionary<string, object?> { ["Silo"] = "10.0.0.7:11111" });

        var output = new StringWriter();
        formatter.Write(Entry(), scopes, output);

        var text = output.ToString();
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        using var line = JsonDocument.Parse(text);
        var root = line.RootElement;
        Assert.Equal("Information", root.GetProperty("LogLevel").GetString());
        Assert.Equal("GenerationWorker.Grains.Jobs.JobGrain", root.GetProperty("Category").GetString());
        Assert.Equal("Job job_42 attempt 2 completed", root.GetProperty("Message").GetString());
        Assert.Equal("job_42", root.GetProperty("State").GetProperty("JobId").GetString());
        Assert.Equal(2, root.GetProperty("State").GetProperty("Attempt").GetInt32());
        Assert.Equal("10.0.0.7:11111", root.GetProperty("Scopes")[0].GetProperty("Silo").GetString());
        Assert.EndsWith("Z", root.GetProperty("Timestamp").GetString());
    }

    [Fact]
    public void Text_WritesOneReadableLineWithScopes()
    {
        using var services = new ServiceCollection().AddLogging(logging => logging.AddWorkerConsole(LogFormat.Text)).BuildServiceProvider();
        var (formatter, options) = Formatter(services);
        Assert.Equal(ConsoleFormatterNames.Simple, options.FormatterName);
        var scopes = new LoggerExternalScopeProvider();
        using var scope = scopes.Push("silo 10.0.0.7:11111");

        var output = new StringWriter();
        formatter.Write(Entry(), scopes, output);

        var text = output.ToString();
        Assert.Single(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("info: GenerationWorker.Grains.Jobs.JobGrain[3]", text);
        Assert.Contains("silo 10.0.0.7:11111", text);
        Assert.Contains("Job job_42 attempt 2 completed", text);
    }

    private static (ConsoleFormatter Formatter, ConsoleLoggerOptions Options) Formatter(ServiceProvider services)
    {
        var options = services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>().CurrentValue;
        var formatter = services.GetServices<ConsoleFormatter>().Single(f => f.Name == options.FormatterName);
        return (formatter, options);
    }

    private static LogEntry<IReadOnlyList<KeyValuePair<string, object?>>> Entry()
    {
        IReadOnlyList<KeyValuePair<string, object?>> state =
        [
            new("JobId", "job_42"),
            new("Attempt", 2),
            new("{OriginalFormat}", "Job {JobId} attempt {Attempt} completed"),
        ];
        return new LogEntry<IReadOnlyList<KeyValuePair<string, object?>>>(
            LogLevel.Information, "GenerationWorker.Grains.Jobs.JobGrain", new EventId(3), state, null,
            (s, _) => $"Job {s[0].Value} attempt {s[1].Value} completed");
    }
}
