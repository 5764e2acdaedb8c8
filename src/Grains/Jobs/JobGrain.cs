using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using GenerationWorker.Grains.Dispatch;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Quota;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Placement;

namespace GenerationWorker.Grains.Jobs;

/// <summary>
/// Runs one claim of a job on the claiming silo: reads the payload, downloads the reference images, calls Gemini once
/// per variant still missing, stores each image, reports progress, and completes, retries, gives back or fails the row.
/// </summary>
/// <remarks>
/// <para>Every write is fenced by the claim's lease token: once the lease is lost (rescued, cancelled, claimed again)
/// nothing this grain writes lands, and it stops.</para>
/// <para>Each stored variant is recorded at once, so a later failure never pays for it again: a retry of the job asks
/// Gemini only for the variants still missing. The last one is recorded by the completion itself, in the same
/// statement.</para>
/// </remarks>
[PreferLocalPlacement]
public sealed partial class JobGrain(
    JobStore jobs,
    JobCompletions completions,
    GrainReferences grains,
    IGeminiClient gemini,
    IImageStore images,
    ReferenceImageFetcher fetcher,
    GeminiGate gate,
    WorkerHealth health,
    RetryPolicy retryPolicy,
    IOptions<WorkerOptions> workerOptions,
    IOptions<GeminiOptions> geminiOptions,
    IOptions<QuotaOptions> quotaOptions,
    TimeProvider time,
    ILogger<JobGrain> logger) : Grain, IJobGrain
{
    private const int UploadTries = 3;

    private readonly WorkerOptions _options = workerOptions.Value;
    private readonly bool _quotaEnabled = quotaOptions.Value.RequestsPerWindow > 0;
    private CancellationTokenSource? _stop;
    private StopCause _stopCause;
    private Task? _run;
    private string? _dispatcherKey;
    private int _slotsAccounted; // slots of the reservation sent or released by this claim

    private enum StopCause
    {
        None,
        Cancelled,
        Shutdown,
        LeaseLost,
    }

    private IQuotaGrain Quota => grains.Quota;

    /// <inheritdoc />
    public Task StartAsync(JobAssignment assignment, CancellationToken cancellationToken = default)
    {
        if (_run is { IsCompleted: false })
        {
            // A newer claim of the same job: the old one's lease is gone and its writes are fenced off.
            Stop(StopCause.LeaseLost);
        }

        _stop = new CancellationTokenSource();
        _dispatcherKey = assignment.DispatcherKey;
        _stopCause = StopCause.None;
        _slotsAccounted = 0;
        _run = RunAsync(assignment, _stop);
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task StopAsync(JobStopReason reason, CancellationToken cancellationToken = default)
    {
        Stop(reason == JobStopReason.Shutdown ? StopCause.Shutdown : StopCause.Cancelled);
        return Task.CompletedTask;
    }

    private void Stop(StopCause cause)
    {
        if (_stop is { IsCancellationRequested: false } stop)
        {
            _stopCause = cause;
            stop.Cancel();
        }
    }

    private async Task RunAsync(JobAssignment job, CancellationTokenSource stop)
    {
        var started = time.GetTimestamp();
        using var timeout = new CancellationTokenSource(_options.JobTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop.Token, timeout.Token);
        using var renewal = this.RegisterGrainTimer(
            ct => RenewLeaseAsync(job, stop, ct),
            new GrainTimerCreationOptions(_options.LeaseDuration / 3, _options.LeaseDuration / 3) { KeepAlive = true });
        LogStarted(logger, job.JobId, job.Attempt, job.MaxAttempts);
        using var activity = WorkerTelemetry.StartJob(job.JobId, job.Attempt);

        JobEnd end;
        try
        {
            end = await ExecuteAsync(job, started, linked.Token);
        }
        catch (OperationCanceledException) when (linked.IsCancellationRequested)
        {
            end = _stopCause switch
            {
                StopCause.Shutdown => new JobEnd.Release("the worker shut down before the job finished", TimeSpan.Zero),
                StopCause.Cancelled or StopCause.LeaseLost => new JobEnd.Abandon(),
                _ => new JobEnd.Retry($"timed out after {_options.JobTimeout.TotalSeconds:0} s", null),
            };
        }
        catch (Exception exception)
        {
            LogUnexpected(logger, job.JobId, job.Attempt, exception);
            end = new JobEnd.Retry($"unexpected error: {exception.GetType().Name}: {exception.Message}", null);
        }

        renewal.Dispose();
        var outcome = end switch
        {
            JobEnd.Complete => JobOutcome.Completed,
            JobEnd.Fail => JobOutcome.Failed,
            JobEnd.Retry => JobOutcome.Retried,
            JobEnd.Abandon => JobOutcome.Cancelled,
            _ => JobOutcome.Released,
        };
        health.JobEnded(outcome);
        WorkerTelemetry.JobEnded(outcome, time.GetElapsedTime(started));
        await FinishAsync(job, end, stop, started);
    }

    private async Task<JobEnd> ExecuteAsync(JobAssignment job, long started, CancellationToken cancellationToken)
    {
        var parsed = JobRequest.Parse(job.Type, job.PayloadJson, geminiOptions.Value.Model);
        if (parsed.Request is not { } request)
        {
            return new JobEnd.Fail(parsed.Error!);
        }

        var earlier = job.StoredVariants > 0 ? await jobs.OutputsAsync(job.JobId, cancellationToken) : [];
        UnrecordedOutput? last = null;
        var stored = earlier.Where(output => output.Variant < request.Variants).ToDictionary(output => output.Variant);
        var missing = Enumerable.Range(0, request.Variants).Where(v => !stored.ContainsKey(v)).ToList();
        await ReleaseSlotsAsync(job, Math.Max(0, job.ReservedRequests - missing.Count));

        if (missing.Count > 0)
        {
            IReadOnlyList<InputImage> inputs;
            try
            {
                inputs = await Task.WhenAll(request.ImageUrls.Select(url => fetcher.FetchAsync(url, cancellationToken)));
            }
            catch (ReferenceImageException exception)
            {
                return new JobEnd.Fail("reference image unusable: " + exception.Message);
            }
            catch (TransientReferenceImageException exception)
            {
                return new JobEnd.Retry("reference image unavailable: " + exception.Message, null);
            }

            if (InputBytes(inputs) > _options.MaxImageBytes)
            {
                return new JobEnd.Fail($"reference images exceed {_options.MaxImageBytes / (1024 * 1024)} MB in total");
            }

            var results = await Task.WhenAll(missing.Select(
                variant => RunVariantAsync(job, request, inputs, variant, stored, cancellationToken)));
            if (Decide(job, results) is { } failure)
            {
                return failure;
            }

            last = results.OfType<VariantResult.Stored>().Select(stored => stored.Unrecorded).FirstOrDefault(output => output is not null);
        }

        var ordered = stored.Values.OrderBy(output => output.Variant).ToList();
        var result = new JsonObject
        {
            ["imageUrls"] = new JsonArray([.. ordered.Select(output => (JsonNode)output.Url)]),
            ["imageIds"] = new JsonArray([.. ordered.Select(output => (JsonNode)output.ImageId)]),
            ["duration"] = (long)time.GetElapsedTime(started).TotalMilliseconds,
        };
        return new JobEnd.Complete(result.ToJsonString(), last);
    }

    private async Task<VariantResult> RunVariantAsync(
        JobAssignment job, JobRequest request, IReadOnlyList<InputImage> inputs, int variant,
        Dictionary<int, StoredOutput> stored, CancellationToken cancellationToken)
    {
        var settings = geminiOptions.Value;
        var model = request.Model ?? settings.Model;
        var fallback = request.FallbackModel ?? settings.FallbackModel;
        while (true)
        {
            GeminiOutcome outcome;
            using (await gate.EnterAsync(GeminiGate.ExpectedBytes(request.ImageSize, InputBytes(inputs)), cancellationToken))
            {
                if (_quotaEnabled && !await Quota.BeginRequestAsync(job.ReservationId, cancellationToken))
                {
                    await TellBudgetRefusedAsync(job);
                    return new VariantResult.Paused();
                }

                _slotsAccounted++;
                using var call = WorkerTelemetry.StartGeminiCall(model, variant);
                outcome = await gemini.GenerateImageAsync(
                    new GeminiImageRequest(model, request.Prompt, inputs, request.AspectRatio, request.ImageSize), cancellationToken);
                call.Finish(outcome.GetType().Name);
            }

            // An image lives in a temporary file until this iteration ends: stored, failed or cancelled, it is deleted.
            using var generated = outcome as GeminiOutcome.Image;
            LogGemini(logger, job.JobId, job.Attempt, variant, model, outcome.GetType().Name);
            switch (outcome)
            {
                case GeminiOutcome.Image image:
                    return await StoreAsync(job, request, variant, image, stored, cancellationToken);
                case GeminiOutcome.ModelNotFound when fallback is not null && fallback != model:
                    model = fallback;
                    continue;
                case GeminiOutcome.ModelNotFound notFound:
                    return new VariantResult.Permanent($"Gemini model '{notFound.Model}' was not found: {notFound.Message}");
                case GeminiOutcome.Blocked { RetryOnce: true } blocked:
                    return new VariantResult.RetryOnce(BlockedMessage(blocked));
                case GeminiOutcome.Blocked blocked:
                    return new VariantResult.Permanent(BlockedMessage(blocked));
                case GeminiOutcome.Rejected rejected:
                    return new VariantResult.Permanent("Gemini rejected the request: " + rejected.Message);
                case GeminiOutcome.Throttled throttled:
                    // Pause the cluster now, not once the job's slower variants have come back.
                    if (_quotaEnabled)
                    {
                        await Quota.ReportThrottledAsync(throttled.RetryDelay, throttled.PerDay, CancellationToken.None);
                    }

                    return new VariantResult.Throttled(throttled);
                case GeminiOutcome.Fatal fatal:
                    return new VariantResult.Fatal($"Gemini refused the service (HTTP {fatal.StatusCode}): {fatal.Message}");
                case GeminiOutcome.Retryable retryable:
                    return new VariantResult.Retryable(
                        $"Gemini error {(retryable.StatusCode == 0 ? "(no response)" : retryable.StatusCode)}: {retryable.Message}",
                        retryable.RetryDelay);
                default:
                    return new VariantResult.Retryable("unexpected Gemini outcome " + outcome.GetType().Name, null);
            }
        }
    }

    /// <summary>
    /// Before the job goes back to the queue: the dispatcher must not start it again on slots it holds ahead, which the
    /// quota grain would refuse as well.
    /// </summary>
    private async Task TellBudgetRefusedAsync(JobAssignment job)
    {
        try
        {
            await grains.Dispatcher(job.DispatcherKey).BudgetRefusedAsync(job.ReservationId);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogDispatcherUnreachable(logger, job.JobId, exception);
        }
    }

    private async Task<VariantResult> StoreAsync(
        JobAssignment job, JobRequest request, int variant, GeminiOutcome.Image image,
        Dictionary<int, StoredOutput> stored, CancellationToken cancellationToken)
    {
        using var upload = WorkerTelemetry.StartUpload(variant);
        var key = ObjectKeys.ForVariant(job.ClientId, job.JobId, variant, image.MimeType);
        string? url = null;
        for (var attempt = 1; url is null; attempt++)
        {
            try
            {
                // Each try reads the image from its start.
                await using var content = image.Data.OpenRead();
                url = await images.PutAsync(key, content, image.MimeType, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException && attempt < UploadTries)
            {
                LogUploadRetry(logger, job.JobId, job.Attempt, variant, attempt, exception);
                await Task.Delay(TimeSpan.FromMilliseconds(500 * attempt), time, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                return new VariantResult.Retryable($"upload failed after {UploadTries} tries: {exception.Message}", null);
            }
        }

        var output = new StoredOutput(variant, key, url, ImageId(job.JobId, variant));
        stored[variant] = output;
        if (stored.Count == request.Variants)
        {
            // The job's last variant: every other one is stored, so the job completes now, and this one is recorded
            // by the completion's own statement.
            return new VariantResult.Stored(new UnrecordedOutput(output, image.MimeType, checked((int)image.Data.Length)));
        }

        var progress = Math.Min(99, stored.Count * 100 / request.Variants);
        if (!await jobs.AddOutputAsync(job.JobId, job.LeaseToken, output, image.MimeType, checked((int)image.Data.Length), progress, cancellationToken))
        {
            Stop(StopCause.LeaseLost);
            return new VariantResult.Lost();
        }

        return new VariantResult.Stored();
    }

    /// <summary>What the variants' results mean for the job; null when every variant is stored.</summary>
    private JobEnd? Decide(JobAssignment job, VariantResult[] results)
    {
        if (results.OfType<VariantResult.Lost>().Any())
        {
            return new JobEnd.Abandon();
        }

        if (results.OfType<VariantResult.Fatal>().FirstOrDefault() is { } fatal)
        {
            return new JobEnd.StopService(fatal.Message);
        }

        if (results.OfType<VariantResult.Permanent>().FirstOrDefault() is { } permanent)
        {
            return new JobEnd.Fail(permanent.Message);
        }

        if (results.OfType<VariantResult.RetryOnce>().FirstOrDefault() is { } once && job.Attempt >= 2)
        {
            return new JobEnd.Fail(once.Message);
        }

        if (results.OfType<VariantResult.Throttled>().FirstOrDefault() is { } throttled)
        {
            return new JobEnd.Throttle(throttled.Outcome);
        }

        if (results.OfType<VariantResult.Paused>().Any())
        {
            return new JobEnd.Release("waiting for the Gemini budget after a 429", TimeSpan.Zero);
        }

        return results.OfType<VariantResult.Retryable>().FirstOrDefault() is { } retryable
            ? new JobEnd.Retry(retryable.Message, retryable.RetryDelay)
            : results.OfType<VariantResult.RetryOnce>().FirstOrDefault() is { } first
                ? new JobEnd.Retry(first.Message, null)
                : null;
    }

    private async Task FinishAsync(JobAssignment job, JobEnd end, CancellationTokenSource stop, long started)
    {
        // The outcome is written even when the run was stopped; the lease fences it if the claim is no longer ours.
        using var writeTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), time);
        var ct = writeTimeout.Token;
        try
        {
            switch (end)
            {
                case JobEnd.Complete complete:
                    if (await completions.CompleteAsync(job.JobId, job.LeaseToken, complete.ResultJson, complete.Last, ct))
                    {
                        LogCompleted(logger, job.JobId, job.Attempt, job.MaxAttempts, (long)time.GetElapsedTime(started).TotalMilliseconds);
                    }

                    break;
                case JobEnd.Fail fail:
                    LogFailed(logger, job.JobId, job.Attempt, fail.Error);
                    await jobs.FailAsync(job.JobId, job.LeaseToken, fail.Error, ct);
                    break;
                case JobEnd.Retry retry:
                    var status = await jobs.RetryAsync(
                        job.JobId, job.LeaseToken, retry.Error, retryPolicy.Delay(job.Attempt, retry.ServerDelay), ct);
                    LogRetry(logger, job.JobId, job.Attempt, status ?? "lost", retry.Error);
                    break;
                case JobEnd.Release release:
                    await jobs.ReleaseAsync(job.JobId, job.LeaseToken, null, release.Delay, ct);
                    LogReleased(logger, job.JobId, job.Attempt, release.Why);
                    break;
                case JobEnd.Throttle throttle:
                    // With a budget the pause was reported when the 429 came, and claiming waits for it to end.
                    var delay = _quotaEnabled ? TimeSpan.Zero : throttle.Outcome.RetryDelay ?? retryPolicy.Delay(job.Attempt);

                    await jobs.ReleaseAsync(job.JobId, job.LeaseToken, "Gemini quota exhausted (429): " + throttle.Outcome.Message, delay, ct);
                    LogReleased(logger, job.JobId, job.Attempt, "Gemini answered 429");
                    break;
                case JobEnd.StopService stopService:
                    await grains.Dispatcher(job.DispatcherKey).ReportFatalAsync(stopService.Reason, ct);
                    await jobs.ReleaseAsync(job.JobId, job.LeaseToken, stopService.Reason, TimeSpan.FromSeconds(60), ct);
                    break;
                case JobEnd.Abandon:
                    LogAbandoned(logger, job.JobId, job.Attempt);
                    break;
            }
        }
        catch (Exception exception)
        {
            // The row stays processing under this lease; its expiry puts the job back.
            LogFinishFailed(logger, job.JobId, job.Attempt, exception);
        }

        await ReleaseSlotsAsync(job, job.ReservedRequests - _slotsAccounted);
        // When a newer claim of the job already runs in this activation, its dispatcher must keep counting it in flight
        // and the grain must stay active (the newer claim's lease renewal timer lives here).
        var replaced = !ReferenceEquals(_stop, stop);
        if (!replaced || _dispatcherKey != job.DispatcherKey)
        {
            try
            {
                await grains.Dispatcher(job.DispatcherKey).JobFinishedAsync(job.JobId);
            }
            catch (Exception exception)
            {
                LogFinishFailed(logger, job.JobId, job.Attempt, exception);
            }
        }

        if (!replaced)
        {
            DeactivateOnIdle();
        }
    }

    private async Task ReleaseSlotsAsync(JobAssignment job, int unused)
    {
        if (_quotaEnabled && unused > 0)
        {
            _slotsAccounted += unused;
            try
            {
                await Quota.ReleaseAsync(job.ReservationId, unused);
            }
            catch (Exception exception)
            {
                // Unreleased slots only free later: the budget is under-used for a moment, never exceeded.
                LogFinishFailed(logger, job.JobId, job.Attempt, exception);
            }
        }
    }

    private async Task RenewLeaseAsync(JobAssignment job, CancellationTokenSource stop, CancellationToken cancellationToken)
    {
        if (stop.IsCancellationRequested)
        {
            return;
        }

        try
        {
            if (!await jobs.RenewLeaseAsync(job.JobId, job.LeaseToken, _options.LeaseDuration, cancellationToken))
            {
                LogLeaseLost(logger, job.JobId, job.Attempt);
                Stop(StopCause.LeaseLost);
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            // The database is unreachable for now; the next renewal tries again before the lease runs out.
            LogFinishFailed(logger, job.JobId, job.Attempt, exception);
        }
    }

    private static long InputBytes(IReadOnlyList<InputImage> inputs) => inputs.Sum(input => (long)input.Bytes.Length);

    /// <summary>The stable id of a job's variant: the same on every attempt.</summary>
    public static string ImageId(string jobId, int variant)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{jobId}/{variant}"));
        return "img_" + Convert.ToHexStringLower(hash, 0, 12);
    }

    private static string BlockedMessage(GeminiOutcome.Blocked blocked) =>
        $"Gemini returned no image ({blocked.Reason})" + (string.IsNullOrWhiteSpace(blocked.Text) ? "" : ": " + Shorten(blocked.Text));

    private static string Shorten(string text) => text.Length <= 300 ? text : text[..300] + "...";

    private abstract record VariantResult
    {
        /// <param name="Unrecorded">The job's last variant, left for the completion to record.</param>
        public sealed record Stored(UnrecordedOutput? Unrecorded = null) : VariantResult;

        public sealed record Lost : VariantResult;

        public sealed record Paused : VariantResult;

        public sealed record Throttled(GeminiOutcome.Throttled Outcome) : VariantResult;

        public sealed record Fatal(string Message) : VariantResult;

        public sealed record Permanent(string Message) : VariantResult;

        public sealed record RetryOnce(string Message) : VariantResult;

        public sealed record Retryable(string Message, TimeSpan? RetryDelay) : VariantResult;
    }

    private abstract record JobEnd
    {
        public sealed record Complete(string ResultJson, UnrecordedOutput? Last) : JobEnd;

        public sealed record Fail(string Error) : JobEnd;

        public sealed record Retry(string Error, TimeSpan? ServerDelay) : JobEnd;

        public sealed record Release(string Why, TimeSpan Delay) : JobEnd;

        public sealed record Throttle(GeminiOutcome.Throttled Outcome) : JobEnd;

        public sealed record StopService(string Reason) : JobEnd;

        public sealed record Abandon : JobEnd;
    }
}
