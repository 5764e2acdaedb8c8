using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Images;

namespace GenerationWorker.Silo.Cli;

/// <summary><c>enqueue</c>, <c>status</c>, <c>list</c>, <c>retry</c> and <c>cancel</c>.</summary>
internal static class JobCommands
{
    private static readonly string[] Statuses = ["pending", "processing", "completed", "failed", "cancelled"];

    /// <summary>Builds the payload the web app would write, checks it as the worker will, inserts it, prints the id.</summary>
    public static async Task<int> EnqueueAsync(CliArguments args, CliContext context)
    {
        args.NoPositionals();
        // Without --type, an image to edit makes an edit, a prompt alone a generation.
        var type = args.Single("type")
            ?? (args.Single("source") is not null ? "image_edit"
                : args.Single("prompt") is not null ? "image_generation"
                : throw new CliUsageException("--type is required (or give --prompt for image_generation, --source and --prompt for image_edit)"));
        if (type is not ("image_generation" or "image_edit"))
        {
            throw new CliUsageException($"--type must be image_generation or image_edit (got '{type}')");
        }

        var prompt = args.Required("prompt");
        var settings = new JsonObject();
        if (args.Int("variants", 1, GenerationRequest.MaxVariants) is { } variants)
        {
            settings["numberOfVariants"] = variants;
        }

        if (args.Single("quality") is { } quality)
        {
            settings["imageQuality"] = quality;
        }

        var aspectRatio = args.Single("aspect-ratio");
        var references = args.All("reference").Select(url => url.Trim()).ToList();
        JsonObject payload;
        if (type == "image_edit")
        {
            payload = new JsonObject
            {
                ["sourceImageUrl"] = args.Single("source") ?? throw new CliUsageException("--source is required for image_edit"),
                ["editPrompt"] = prompt,
            };
            if (references.Count > 0)
            {
                payload["referenceImages"] = new JsonArray([.. references.Select(url => (JsonNode)new JsonObject { ["url"] = url })]);
            }

            if (aspectRatio is not null)
            {
                payload["aspectRatio"] = aspectRatio;
            }
        }
        else
        {
            if (args.Single("source") is not null)
            {
                throw new CliUsageException("--source is only for --type image_edit");
            }

            payload = new JsonObject { ["prompt"] = prompt };
            if (aspectRatio is not null)
            {
                settings["aspectRatio"] = aspectRatio;
            }

            if (references.Count > 0)
            {
                payload["productImageUrls"] = new JsonArray([.. references.Select(url => (JsonNode)url)]);
            }
        }

        if (settings.Count > 0)
        {
            payload["settings"] = settings;
        }

        var json = payload.ToJsonString();
        string? error;
        _ = type == "image_edit" ? (object?)EditRequest.Parse(json, out error) : GenerationRequest.Parse(json, out error);
        if (error is not null)
        {
            // The worker would fail this job at once; refuse it here instead.
            throw new CliUsageException(error);
        }

        var id = await context.Store.EnqueueAsync(
            args.Single("client") ?? "operator", type, json, args.Int("priority", -1_000_000, 1_000_000) ?? 100,
            args.Int("max-attempts", 1, 100) ?? 3, context.CancellationToken);
        await context.Out.WriteLineAsync(id);
        return OperatorCli.Success;
    }

    /// <summary>Prints one job.</summary>
    public static async Task<int> StatusAsync(CliArguments args, CliContext context)
    {
        var id = args.Positional("job id");
        if (await context.Store.GetAsync(id, context.CancellationToken) is not { } job)
        {
            return await NoSuchJobAsync(context, id);
        }

        var lines = new List<(string Label, string Value)>
        {
            ("id", job.Id),
            ("type", job.Type),
            ("client", job.ClientId),
            ("status", job.Status + (job.Status == "processing" && job.LockedBy is { } owner ? $" on {owner}" : "")
                + (job.Status == "pending" && job.Waiting ? $" (waiting until {Text.When(job.ScheduledFor)})" : "")),
            ("progress", $"{Text.Bar(job.Progress, 20)} {job.Progress}%"),
            ("attempts", $"{job.Attempts}/{job.MaxAttempts}"),
            ("priority", job.Priority.ToString(CultureInfo.InvariantCulture)),
            ("created", Text.When(job.CreatedAt)),
        };
        if (job.StartedAt is { } started)
        {
            lines.Add(("started", Text.When(started)));
        }

        if (job.CompletedAt is { } completed)
        {
            lines.Add(("completed", Text.When(completed)));
        }

        if (job.Status == "processing" && job.LeaseExpiresAt is { } lease)
        {
            lines.Add(("lease until", Text.When(lease)));
        }

        if (job.Error is { } error)
        {
            lines.Add((job.Status == "failed" ? "error" : "last error", error));
        }

        if (job.ResultJson is { } resultJson)
        {
            using var result = JsonDocument.Parse(resultJson);
            if (result.RootElement.TryGetProperty("imageUrls", out var urls) && urls.ValueKind == JsonValueKind.Array)
            {
                lines.AddRange(urls.EnumerateArray().Select((url, i) => (i == 0 ? "images" : "", url.GetString() ?? "")));
            }

            if (result.RootElement.TryGetProperty("duration", out var duration) && duration.ValueKind == JsonValueKind.Number)
            {
                lines.Add(("duration", $"{duration.GetInt64()} ms"));
            }
        }
        else if (job.StoredVariants > 0)
        {
            lines.Add(("stored", $"{job.StoredVariants} variant(s) so far"));
        }

        foreach (var (label, value) in lines)
        {
            await context.Out.WriteLineAsync($"{(label.Length > 0 ? label + ":" : ""),-13}{Text.Clean(value.ReplaceLineEndings(" "))}");
        }

        return OperatorCli.Success;
    }

    /// <summary>Prints the newest jobs as a table.</summary>
    public static async Task<int> ListAsync(CliArguments args, CliContext context)
    {
        args.NoPositionals();
        var status = args.Single("status");
        if (status is not null && !Statuses.Contains(status))
        {
            throw new CliUsageException($"--status must be one of {string.Join(", ", Statuses)} (got '{status}')");
        }

        var jobs = await context.Store.ListAsync(status, args.Int("limit", 1, 1000) ?? 20, context.CancellationToken);
        if (jobs.Count == 0)
        {
            await context.Out.WriteLineAsync(status is null ? "no jobs" : $"no {status} jobs");
            return OperatorCli.Success;
        }

        var rows = jobs.Select(job => new[]
        {
            Text.Clean(job.Id), Text.Clean(job.Type), job.Status, $"{job.Progress}%", $"{job.Attempts}/{job.MaxAttempts}", Text.When(job.CreatedAt),
            Text.Shorten(job.Error, 60),
        });
        await Text.WriteTableAsync(context.Out, ["ID", "TYPE", "STATUS", "PROGRESS", "ATTEMPTS", "CREATED (UTC)", "ERROR"], rows);
        return OperatorCli.Success;
    }

    /// <summary>Puts one job, or every failed job, back to pending now with its attempts reset.</summary>
    public static async Task<int> RetryAsync(CliArguments args, CliContext context)
    {
        var id = args.OptionalPositional("job id");
        if (args.Has("failed"))
        {
            if (id is not null)
            {
                throw new CliUsageException("give either a job id or --failed, not both");
            }

            var ids = await context.Store.RetryFailedAsync(context.CancellationToken);
            foreach (var retried in ids)
            {
                await context.Out.WriteLineAsync(retried);
            }

            await context.Out.WriteLineAsync($"{ids.Count} failed job(s) back to pending");
            return OperatorCli.Success;
        }

        if (id is null)
        {
            throw new CliUsageException("a job id or --failed is required");
        }

        switch (await context.Store.RetryAsync(id, context.CancellationToken))
        {
            case RetryOutcome.Retried:
                await context.Out.WriteLineAsync($"{id} back to pending, attempts reset");
                return OperatorCli.Success;
            case RetryOutcome.NotRetryable refused:
                await context.Error.WriteLineAsync($"retry: {id} is {refused.Status}; only failed, cancelled or pending jobs can be retried");
                return OperatorCli.Refused;
            default:
                return await NoSuchJobAsync(context, id);
        }
    }

    /// <summary>Cancels a pending or processing job as the web app does.</summary>
    public static async Task<int> CancelAsync(CliArguments args, CliContext context)
    {
        var id = args.Positional("job id");
        switch (await context.Store.CancelAsync(id, context.CancellationToken))
        {
            case CancelOutcome.Cancelled:
                await context.Out.WriteLineAsync($"{id} cancelled");
                return OperatorCli.Success;
            case CancelOutcome.AlreadyEnded ended:
                await context.Error.WriteLineAsync($"cancel: {id} is already {ended.Status}");
                return OperatorCli.Refused;
            default:
                return await NoSuchJobAsync(context, id);
        }
    }

    private static async Task<int> NoSuchJobAsync(CliContext context, string id)
    {
        await context.Error.WriteLineAsync($"no job with id '{Text.Shorten(id, 80)}'");
        return OperatorCli.UsageError;
    }
}
