using System.Globalization;
using GenerationWorker.Grains.Cost;

namespace GenerationWorker.Silo.Cli;

/// <summary>
/// <c>cost [--client C] [--since D]</c>: the Gemini spend from the cost ledger by client, model and UTC day, with the
/// totals by client and by model. Possibly billed requests (no answer came) are shown apart.
/// </summary>
internal static class CostCommand
{
    /// <summary>Prints the spend.</summary>
    public static async Task<int> RunAsync(CliArguments args, CliContext context)
    {
        args.NoPositionals();
        var client = args.Single("client");
        DateOnly? since = null;
        if (args.Single("since") is { } text)
        {
            since = DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                ? day
                : throw new CliUsageException("--since must be a date, yyyy-MM-dd");
        }

        var lines = await context.Store.CostAsync(client, since, context.CancellationToken);
        var output = context.Out;
        await output.WriteLineAsync($"{"day",-12}{"client",-24}{"model",-32}{"billed USD",14}{"requests",10}{"possibly USD",14}{"requests",10}");
        foreach (var line in lines)
        {
            await output.WriteLineAsync(Row(line.Day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), line.ClientId, line.Model, [line]));
        }

        await output.WriteLineAsync("by client");
        foreach (var group in lines.GroupBy(line => line.ClientId).OrderBy(group => group.Key, StringComparer.Ordinal))
        {
            await output.WriteLineAsync(Row("", group.Key, "", [.. group]));
        }

        await output.WriteLineAsync("by model");
        foreach (var group in lines.GroupBy(line => line.Model).OrderBy(group => group.Key, StringComparer.Ordinal))
        {
            await output.WriteLineAsync(Row("", "", group.Key, [.. group]));
        }

        await output.WriteLineAsync(Row("total", "", "", lines));
        return OperatorCli.Success;
    }

    private static string Row(string day, string client, string model, IReadOnlyCollection<CostLine> lines) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"{day,-12}{client,-24}{model,-32}{Usd(lines.Sum(l => l.BilledMicros)),14}{lines.Sum(l => l.BilledRequests),10}{Usd(lines.Sum(l => l.PossiblyBilledMicros)),14}{lines.Sum(l => l.PossiblyBilledRequests),10}");

    private static string Usd(long micros) => PriceTable.Dollars(micros).ToString("0.000000", CultureInfo.InvariantCulture);
}
