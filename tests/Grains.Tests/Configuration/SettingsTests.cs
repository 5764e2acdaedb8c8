using GenerationWorker.Grains.Configuration;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Configuration;

/// <summary>The catalogue of settings is the one description of the service's variables: the README's table is rendered from it.</summary>
public sealed class SettingsTests
{
    private const string TableHeader = "| variable | default | accepted | meaning |";

    [Fact]
    public void ReadmeTableOfVariables_IsRenderedFromTheCatalogue()
    {
        var readme = File.ReadAllLines(Path.Combine(RepoPaths.Root, "README.md"));
        var start = Array.IndexOf(readme, TableHeader);
        var table = start < 0 ? [] : readme.Skip(start).TakeWhile(line => line.StartsWith('|')).ToList();
        var expected = Table();

        if (!table.SequenceEqual(expected))
        {
            var drift = expected.Except(table).Select(line => "missing or changed: " + line)
                .Concat(table.Except(expected).Select(line => "not in the catalogue: " + line));
            Assert.Fail(
                "README.md's table of variables differs from Settings (src/Grains/Configuration/Settings.cs):\n"
                + string.Join("\n", drift)
                + "\n\nThe table, to paste under ## Configuration:\n" + string.Join("\n", expected));
        }
    }

    [Fact]
    public void EveryVariableName_IsDeclaredOnce()
    {
        var names = Settings.All.SelectMany(s => s.Aliases.Prepend(s.Name)).ToList();

        Assert.Equal(names.Count, names.Distinct(StringComparer.Ordinal).Count());
        Assert.Contains(Settings.QuotaBurstPercent, Settings.All);
        Assert.Contains(Settings.DatabaseUrl, Settings.All);
    }

    [Theory]
    [InlineData("five", "must be a whole number from 1 to 10000 (got 'five')")]
    [InlineData("0", "must be a whole number from 1 to 10000 (got '0')")]
    public void ARefusedNumber_SaysTheRangeAndQuotesTheValue(string value, string problem)
    {
        Assert.False(Settings.WorkerConcurrency.TryRead(value, out var result, out var said));
        Assert.Equal(problem, said);
        Assert.Equal(Settings.WorkerConcurrency.Default, result);
    }

    [Fact]
    public void ARefusedUrl_IsNotQuoted_AndAParsersOwnWordsAreKept()
    {
        Assert.False(Settings.DatabaseUrl.TryRead("mysql://u:hunter2@h/db", out _, out var url));
        Assert.False(Settings.ModelBudgets.TryRead("gemini-3-pro-image=20/week", out _, out var budget));
        Assert.False(Settings.GeminiBaseUrl.TryRead("ftp://secret@x", out _, out var baseUrl));

        Assert.StartsWith("must start with postgres://", url, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", url, StringComparison.Ordinal);
        Assert.StartsWith("has '20/week', which has no window", budget, StringComparison.Ordinal);
        Assert.Equal("must be an http(s) URL", baseUrl);
    }

    [Theory]
    [InlineData("-1", "must be a whole number from 0 to 10000000 (got '-1')")]
    [InlineData("0", null)]
    [InlineData("1", null)]
    [InlineData("8", null)]
    public void MaxJobsPerMinute_IsZeroOrMore_ASmallLimitSendingAJobsVariantsAcrossWindows(string value, string? problem)
    {
        Settings.MaxJobsPerMinute.TryRead(value, out _, out var said);

        Assert.Equal(problem, said);
    }

    /// <summary>The README's table: one row a variable, in the catalogue's order.</summary>
    private static List<string> Table() =>
    [
        TableHeader,
        "| --- | --- | --- | --- |",
        .. Settings.All.Select(setting =>
            $"| {Names(setting)} | {setting.DefaultText} | {Cell(setting.Accepts)} | {setting.Description} |"),
    ];

    private static string Names(Setting setting) =>
        $"`{setting.Name}`" + string.Concat(setting.Aliases.Select(alias => $" (or `{alias}`)"));

    // A bar would end the cell.
    private static string Cell(string text) => text.Replace("|", "\\|", StringComparison.Ordinal);
}
