using System.Text.Json.Serialization;
using GenerationWorker.GeminiEmulator;
using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Storage;
using Npgsql;

namespace GenerationWorker.Chaos;

/// <summary>What the run did and whether every promise held.</summary>
internal sealed record ChaosReport(
    int Jobs,
    int Completed,
    int Failed,
    int NotFinal,
    double Seconds,
    int SiloKills,
    int ConnectionsTerminated,
    int PostgresRestarts,
    long GeminiRequests,
    long GeminiSuccesses,
    long StoredImages,
    long ImagesGeneratedMoreThanOnce,
    IReadOnlyDictionary<string, long> DuplicatesByCause,
    int BudgetPerWindow,
    double WindowSeconds,
    int MaxRequestsInAnyWindow,
    double BusiestWindowEndsAtSecond,
    long EmulatorQuotaRejections,
    int JobsRescued,
    int MaxAttemptsUsed,
    IReadOnlyDictionary<string, int> FailureReasons,
    IReadOnlyList<int> SiloExitCodes,
    IReadOnlyList<string> Violations)
{
    [JsonIgnore]
    public bool Passed => Violations.Count == 0;

    public static async Task<ChaosReport> BuildAsync(
        ChaosOptions options, string connectionString, string storage, string clientId, IReadOnlyList<string> ids,
        IReadOnlyDictionary<string, int> variants, EmulatorStatsSnapshot gemini, FaultLog faults, int[] exitCodes, TimeSpan elapsed,
        DateTimeOffset startedAt)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        var rows = new Dictionary<string, (string Status, string? Error, int Attempts, int Urls)>();
        await using (var read = new NpgsqlCommand(
            "SELECT id, status, error, attempts, coalesce(jsonb_array_length(result -> 'imageUrls'), 0) FROM generation_job", connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows[reader.GetString(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2), reader.GetInt32(3), reader.GetInt32(4));
            }
        }

        var completions = await CountByJobAsync(connection, "SELECT job_id, count(*) FROM generation_job_event WHERE to_status = 'completed' GROUP BY job_id");
        var outputs = await CountByJobAsync(connection, "SELECT job_id, count(*) FROM generation_job_output GROUP BY job_id");
        var causes = new Dictionary<string, string>();
        await using (var read = new NpgsqlCommand(
            "SELECT job_id, string_agg(coalesce(error, ''), ' | ' ORDER BY id) FROM generation_job_event GROUP BY job_id", connection))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                causes[reader.GetString(0)] = reader.GetString(1);
            }
        }

        var violations = new List<string>();
        var notFinal = ids.Where(id => rows[id].Status is not ("completed" or "failed" or "cancelled")).ToList();
        if (notFinal.Count > 0)
        {
            violations.Add($"{notFinal.Count} jobs are not final: {string.Join(", ", notFinal.Take(5))}");
        }

        foreach (var id in ids.Where(id => rows[id].Status == "completed"))
        {
            // Each variant is a WebP and its PNG original under the variant's asset id, in the client's ad hoc folder.
            var assets = Enumerable.Range(0, variants[id]).Select(v => AssetIds.ForVariant(id, v)).ToList();
            var folder = Path.Combine(storage, ObjectKeys.AssetFolder(clientId, null, null));
            var files = Directory.Exists(folder)
                ? Directory.GetFiles(folder).Select(Path.GetFileName)
                    .Where(f => assets.Any(asset => f!.StartsWith(asset, StringComparison.Ordinal))).Order(StringComparer.Ordinal).ToList()
                : [];
            var expected = assets.SelectMany(asset => new[] { asset + ".webp", asset + "_original.png" }).Order(StringComparer.Ordinal).ToList();
            if (!files.SequenceEqual(expected) || rows[id].Urls != variants[id])
            {
                violations.Add($"{id}: {variants[id]} variants, {files.Count} objects stored ({string.Join(",", files)}), {rows[id].Urls} URLs");
            }
        }

        foreach (var (id, count) in completions.Where(c => c.Value > 1))
        {
            violations.Add($"{id} completed {count} times");
        }

        var maxInWindow = gemini.MaxRequestsInAnyWindow;
        if (maxInWindow > options.Budget)
        {
            violations.Add($"{maxInWindow} Gemini requests in one {options.Window.TotalSeconds:0} s window; the budget is {options.Budget}");
        }

        foreach (var id in ids.Where(id => rows[id].Status == "failed" && string.IsNullOrWhiteSpace(rows[id].Error)))
        {
            violations.Add($"{id} failed without an error");
        }

        for (var i = 0; i < exitCodes.Length; i++)
        {
            if (exitCodes[i] != 0)
            {
                violations.Add($"silo {i} exited with {exitCodes[i]} on SIGTERM");
            }
        }

        // Images Gemini made that were not kept: per job, its successful requests minus its stored variants.
        var successesByJob = gemini.RecentRequests
            .Where(r => r.Outcome == RequestOutcome.Success)
            .GroupBy(r => r.PromptStart.Split(' ') is [_, _, var n, ..] ? n : "")
            .ToDictionary(g => g.Key, g => (long)g.Count());
        var duplicates = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var id in ids)
        {
            var extra = successesByJob.GetValueOrDefault(id[^4..]) - outputs.GetValueOrDefault(id);
            if (extra > 0)
            {
                var history = causes.GetValueOrDefault(id, "");
                var cause = history.Contains("worker lost", StringComparison.Ordinal) ? "silo killed (job rescued)"
                    : history.Contains("unexpected error", StringComparison.Ordinal) ? "database connection lost mid-job"
                    : history.Contains("timed out", StringComparison.Ordinal) ? "job timeout"
                    : rows[id].Status == "failed" ? "job failed on another variant"
                    : "other";
                duplicates[cause] = duplicates.GetValueOrDefault(cause) + extra;
            }
        }

        var failures = ids.Where(id => rows[id].Status == "failed")
            .GroupBy(id => Reason(rows[id].Error!))
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new ChaosReport(
            ids.Count,
            ids.Count(id => rows[id].Status == "completed"),
            ids.Count(id => rows[id].Status == "failed"),
            notFinal.Count,
            Math.Round(elapsed.TotalSeconds, 1),
            faults.Kills,
            faults.ConnectionKills,
            faults.PostgresRestarts,
            gemini.TotalRequests,
            gemini.Models.Values.Sum(m => m.Successes),
            outputs.Values.Sum(),
            duplicates.Values.Sum(),
            duplicates,
            options.Budget,
            options.Window.TotalSeconds,
            maxInWindow,
            Math.Round((BusiestWindowEnd(gemini.RecentRequests, options.Window) - startedAt).TotalSeconds, 1),
            gemini.Models.Values.Sum(m => m.QuotaRejections),
            ids.Count(id => causes.GetValueOrDefault(id, "").Contains("worker lost", StringComparison.Ordinal)),
            ids.Max(id => rows[id].Attempts),
            failures,
            exitCodes,
            violations);
    }

    public void Print(TextWriter console)
    {
        console.WriteLine();
        console.WriteLine("| measure | value |");
        console.WriteLine("| --- | --- |");
        void Row(string name, object value) => console.WriteLine($"| {name} | {value} |");
        Row("jobs (completed / failed / not final)", $"{Jobs} ({Completed} / {Failed} / {NotFinal})");
        Row("run time", $"{Seconds:0.0} s");
        Row("faults injected", $"{SiloKills} silo kills (-9), {ConnectionsTerminated} connections terminated, {PostgresRestarts} PostgreSQL restart");
        Row("jobs rescued from a lost worker", JobsRescued);
        Row("most attempts used by a job", MaxAttemptsUsed);
        Row("Gemini requests / successes", $"{GeminiRequests} / {GeminiSuccesses}");
        Row("images stored", StoredImages);
        Row("images generated more than once", $"{ImagesGeneratedMoreThanOnce} ({string.Join(", ", DuplicatesByCause.Select(d => $"{d.Key}: {d.Value}"))})");
        Row("most requests in any window", $"{MaxRequestsInAnyWindow}, window ending at {BusiestWindowEndsAtSecond:0.0} s (budget {BudgetPerWindow} per {WindowSeconds:0} s; emulator quota 429s: {EmulatorQuotaRejections})");
        Row("failed jobs by reason", string.Join(", ", FailureReasons.Select(f => $"{f.Key}: {f.Value}")));
        Row("silo exit codes on SIGTERM", string.Join(", ", SiloExitCodes));
        console.WriteLine();
        if (Passed)
        {
            console.WriteLine("CHECKS PASSED: every job final; every completed job has exactly its variants stored; no job completed twice; the budget held in every window; every failed job has an error.");
        }
        else
        {
            console.WriteLine($"CHECKS FAILED ({Violations.Count}):");
            foreach (var violation in Violations.Take(50))
            {
                console.WriteLine("  - " + violation);
            }
        }
    }

    /// <summary>When the window (t - window, t] holding the most arrivals ends.</summary>
    private static DateTimeOffset BusiestWindowEnd(IReadOnlyList<RequestLogEntry> requests, TimeSpan window)
    {
        var arrivals = requests.Select(r => r.ArrivedAt).Order().ToList();
        var (best, end, first) = (0, DateTimeOffset.MinValue, 0);
        for (var last = 0; last < arrivals.Count; last++)
        {
            while (arrivals[first] <= arrivals[last] - window)
            {
                first++;
            }

            if (last - first + 1 > best)
            {
                (best, end) = (last - first + 1, arrivals[last]);
            }
        }

        return end;
    }

    private static string Reason(string error) => error.Length <= 60 ? error : error[..60] + "...";

    private static async Task<Dictionary<string, long>> CountByJobAsync(NpgsqlConnection connection, string sql)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        await using var read = new NpgsqlCommand(sql, connection);
        await using var reader = await read.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            counts[reader.GetString(0)] = reader.GetInt64(1);
        }

        return counts;
    }
}
