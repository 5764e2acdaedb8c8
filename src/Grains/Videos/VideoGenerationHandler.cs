using System.Data.Common;
using System.Globalization;
using System.Text.Json.Nodes;
using GenerationWorker.Grains.Assets;
using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Images;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Postgres;
using GenerationWorker.Grains.Storage;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Videos;

/// <summary>
/// Runs <c>video_generation</c> jobs on Veo as a state machine kept on the job's row, one short claim per step:
/// <list type="number">
/// <item>No operation: record that a start is in flight, send the start (the billed request), record the operation's
/// name, and wait (<see cref="JobResult.Snooze"/>) a poll interval.</item>
/// <item>An operation: poll it once; still running, wait again (progress +5, at most 95); done, download the MP4, store
/// it and complete the job.</item>
/// <item>A start in flight without a name (its answer was lost): fail, never start a second operation.</item>
/// </list>
/// Waiting holds no slot; a claim that only polls spends no attempt and no budget (see <c>JobClaim.sql</c>).
/// </summary>
public sealed partial class VideoGenerationHandler(
    VeoClient veo,
    VideoOperationStore operations,
    CostLedger costs,
    ReferenceImageFetcher fetcher,
    IImageStore store,
    AppTables appTables,
    AppAssetStore assets,
    IOptions<GeminiOptions> geminiOptions,
    TimeProvider time,
    ILogger<VideoGenerationHandler> logger) : IJobHandler
{
    /// <summary>The error of a job whose start got no answer.</summary>
    public const string StartOutcomeUnknown = "video start outcome unknown; not restarted to avoid paying twice";

    /// <summary>The progress once the operation is started.</summary>
    public const int StartedProgress = 10;

    /// <summary>The progress each poll adds.</summary>
    public const int ProgressPerPoll = 5;

    /// <summary>The highest progress before the video is stored.</summary>
    public const int MaxPollingProgress = 95;

    private const int RecordTries = 5;

    private readonly GeminiOptions _options = geminiOptions.Value;

    /// <inheritdoc />
    public string Type => "video_generation";

    /// <inheritdoc />
    public async Task<JobResult> RunAsync(IJobRun run, CancellationToken cancellationToken)
    {
        var job = run.Job;
        if (VideoRequest.Parse(job.PayloadJson, out var error) is not { } request)
        {
            return new JobResult.Fail(error!);
        }

        var state = await operations.StateAsync(job.JobId, job.LeaseToken, cancellationToken) ?? throw new LeaseLostException();
        if (state.OperationName is { } operationName)
        {
            return await PollAsync(run, request, state, operationName, cancellationToken);
        }

        if (state.StartSent)
        {
            LogStartUnknown(logger, job.JobId, "found on the row");
            return new JobResult.Fail(StartOutcomeUnknown);
        }

        return await StartAsync(run, request, cancellationToken);
    }

    private async Task<JobResult> StartAsync(IJobRun run, VideoRequest request, CancellationToken cancellationToken)
    {
        var job = run.Job;
        var model = request.Model ?? _options.VideoModel;
        await run.StartedAsync(model, 0, cancellationToken);
        InputImage? image = null;
        if (request.SourceImage is { } source)
        {
            try
            {
                image = await fetcher.FetchAsync(source, cancellationToken);
            }
            catch (ReferenceImageException exception)
            {
                return new JobResult.Fail("source image unusable: " + exception.Message);
            }
            catch (TransientReferenceImageException exception)
            {
                return new JobResult.Retry("source image unavailable: " + exception.Message);
            }
        }

        await run.NeedRequestsAsync(1);
        using var permit = await run.TakeRequestPermitAsync(model, cancellationToken);
        if (permit is null)
        {
            return new JobResult.Release("waiting for the Gemini budget after a 429", TimeSpan.Zero);
        }

        var requestId = await costs.VideoStartingAsync(job, model, cancellationToken);
        if (!await operations.StartingAsync(job.JobId, job.LeaseToken, cancellationToken))
        {
            await costs.NotSentAsync(requestId, "lease lost before the start was sent");
            throw new LeaseLostException();
        }

        // From here the start runs to its answer whatever stops the claim: an operation it creates is paid for, and
        // only its recorded name lets the job's next claim find it instead of failing. Its slot counts from the answer
        // (a later moment than the request's write: the budget only errs on the safe side).
        var sent = time.GetTimestamp();
        VeoStart start;
        try
        {
            start = await veo.StartAsync(
                new VeoRequest(model, request.VeoPrompt(), image, request.AspectRatio, request.Resolution), CancellationToken.None);
        }
        finally
        {
            permit.Written();
        }

        await costs.VideoStartAnsweredAsync(requestId, model, start, time.GetElapsedTime(sent));

        // Against the spend caps a started video counts at its full price from its start (its bill comes when it ends).
        permit.Priced(start is VeoStart.Refused ? 0 : costs.ExpectedVideoMicros(model));
        switch (start)
        {
            case VeoStart.Started started:
                if (!await RecordStartedAsync(job, started.OperationName))
                {
                    throw new LeaseLostException();
                }

                LogStarted(logger, job.JobId, started.OperationName, model);
                return new JobResult.Snooze(_options.VideoPollInterval, StartedProgress);
            case VeoStart.Unknown unknown:
                LogStartUnknown(logger, job.JobId, unknown.Message);
                return new JobResult.Fail(StartOutcomeUnknown + " (" + unknown.Message + ")");
            case VeoStart.Refused refused:
                if (!await operations.ForgetAsync(job.JobId, job.LeaseToken, CancellationToken.None))
                {
                    throw new LeaseLostException();
                }

                if (refused.Outcome is GeminiOutcome.Throttled throttled)
                {
                    await run.ReportThrottledAsync(model, throttled);
                }

                return FromFailure(refused.Outcome, "Veo refused the start");
            default:
                throw new ArgumentOutOfRangeException(nameof(start), start.GetType().Name);
        }
    }

    /// <summary>
    /// Records the started operation's name, trying again for a few seconds while the database is unreachable: until it
    /// is recorded, the job can only fail as "outcome unknown".
    /// </summary>
    private async Task<bool> RecordStartedAsync(JobAssignment job, string operationName)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await operations.StartedAsync(job.JobId, job.LeaseToken, operationName, StartedProgress, CancellationToken.None);
            }
            catch (Exception exception) when (exception is DbException or TimeoutException && attempt < RecordTries)
            {
                LogRecordRetry(logger, job.JobId, operationName, attempt, exception);
                await Task.Delay(TimeSpan.FromSeconds(attempt), time);
            }
        }
    }

    private async Task<JobResult> PollAsync(
        IJobRun run, VideoRequest request, VideoOperationState state, string operationName, CancellationToken cancellationToken)
    {
        var job = run.Job;
        if (state.Age > _options.VideoTimeout)
        {
            await costs.VideoEndedAsync(job.JobId, operationName, Billing.PossiblyBilled, "given up: no video within VIDEO_TIMEOUT_MINUTES");
            return new JobResult.Fail(string.Create(
                CultureInfo.InvariantCulture,
                $"video not ready {_options.VideoTimeout.TotalMinutes:0} min after its start (VIDEO_TIMEOUT_MINUTES); operation {operationName} given up"));
        }

        var poll = await veo.PollAsync(operationName, cancellationToken);
        switch (poll)
        {
            case VeoPoll.Running:
                return new JobResult.Snooze(_options.VideoPollInterval, Math.Min(MaxPollingProgress, state.Progress + ProgressPerPoll));
            case VeoPoll.Done done:
                await costs.VideoEndedAsync(job.JobId, operationName, Billing.Billed, null);
                return await StoreAsync(run, request, state, done.VideoUri, cancellationToken);
            case VeoPoll.Filtered filtered:
                await costs.VideoEndedAsync(job.JobId, operationName, Billing.NotBilled, "filtered: " + string.Join("; ", filtered.Reasons));
                return new JobResult.Fail("video blocked by Veo's safety filters: " + string.Join("; ", filtered.Reasons));
            case VeoPoll.Failed failed:
                await costs.VideoEndedAsync(job.JobId, operationName, Billing.NotBilled, "operation failed: " + failed.Message);
                // The operation produced nothing and will not: the retry policy may start another one.
                if (!await operations.ForgetAsync(job.JobId, job.LeaseToken, CancellationToken.None))
                {
                    throw new LeaseLostException();
                }

                return new JobResult.Retry(string.Create(
                    CultureInfo.InvariantCulture, $"Veo operation failed ({failed.Status ?? failed.Code.ToString(CultureInfo.InvariantCulture)}): {failed.Message}"));
            case VeoPoll.Unreachable { Outcome: GeminiOutcome.Fatal fatal }:
                return new JobResult.StopService($"Gemini refused the service (HTTP {fatal.StatusCode}): {fatal.Message}");
            case VeoPoll.Unreachable { Outcome: GeminiOutcome.ModelNotFound notFound }:
                return new JobResult.Fail($"Veo operation {operationName} not found: {notFound.Message}");
            case VeoPoll.Unreachable unreachable:
                // The poll failed, not the operation: ask again next time, on the same operation.
                LogPollFailed(logger, job.JobId, operationName, Describe(unreachable.Outcome));
                return new JobResult.Snooze(_options.VideoPollInterval, state.Progress);
            default:
                throw new ArgumentOutOfRangeException(nameof(poll), poll.GetType().Name);
        }
    }

    private async Task<JobResult> StoreAsync(
        IJobRun run, VideoRequest request, VideoOperationState state, Uri videoUri, CancellationToken cancellationToken)
    {
        var job = run.Job;
        var download = await veo.DownloadAsync(videoUri, SpoolDirectory, cancellationToken);
        switch (download)
        {
            case VeoDownload.Failed { Outcome: GeminiOutcome.Fatal fatal }:
                return new JobResult.StopService($"Gemini refused the service (HTTP {fatal.StatusCode}): {fatal.Message}");
            case VeoDownload.Failed { Outcome: GeminiOutcome.Retryable or GeminiOutcome.Throttled } failed:
                // The file stays for about two days: download it again on the next claim, never start again.
                LogDownloadRetry(logger, job.JobId, Describe(failed.Outcome));
                return new JobResult.Snooze(_options.VideoPollInterval, state.Progress);
            case VeoDownload.Failed failed:
                return new JobResult.Fail("Veo's video could not be downloaded: " + Describe(failed.Outcome));
        }

        using var video = (VeoDownload.Saved)download;
        var withAssets = await appTables.PresentAsync(cancellationToken);
        var placeholders = withAssets ? await assets.PlaceholdersAsync(job.JobId, cancellationToken) : [];
        var assetId = AssetIds.Assign(job.JobId, [0], placeholders, [])[0];
        var key = ObjectKeys.ForAsset(ObjectKeys.AssetFolder(job.ClientId, job.FlowId, request.SessionId), assetId, "mp4");
        string url;
        try
        {
            url = await store.PutAsync(key, video.Content, "video/mp4", cancellationToken);
        }
        catch (Exception exception) when (exception is not OperationCanceledException)
        {
            LogUploadRetry(logger, job.JobId, exception);
            return new JobResult.Snooze(_options.VideoPollInterval, state.Progress);
        }

        var result = new JsonObject
        {
            ["videoUrls"] = new JsonArray(url),
            ["videoIds"] = new JsonArray(assetId),

            // The job's duration: from the start of its operation to now, across its claims.
            ["duration"] = (long)(state.Age + run.Elapsed).TotalMilliseconds,
        };
        var output = new StoredOutput(0, key, url, assetId);
        var assetRows = withAssets
            ? new AssetWrite(
                job.ClientId, job.FlowId, job.JobId, "video", request.Prompt, request.AssetSettingsJson, request.ProductIds,
                [new AssetFile(assetId, url, null)])
            : null;
        LogStored(logger, job.JobId, key, video.Content.Length);
        return new JobResult.Complete(result.ToJsonString(), new UnrecordedOutput(output, "video/mp4", checked((int)video.Content.Length)), assetRows);
    }

    private JobResult FromFailure(GeminiOutcome outcome, string what) => outcome switch
    {
        GeminiOutcome.Throttled throttled => new JobResult.Throttle(throttled),
        GeminiOutcome.Fatal fatal when !VariantResult.RefusesService(fatal, _options) => new JobResult.Fail(VariantResult.OverrideRefused(fatal)),
        GeminiOutcome.Fatal fatal => new JobResult.StopService($"Gemini refused the service (HTTP {fatal.StatusCode}): {fatal.Message}"),
        GeminiOutcome.Retryable retryable => new JobResult.Retry($"{what}: {Describe(retryable)}", retryable.RetryDelay),
        _ => new JobResult.Fail($"{what}: {Describe(outcome)}"),
    };

    private static string Describe(GeminiOutcome outcome) => outcome switch
    {
        GeminiOutcome.Retryable retryable => retryable.StatusCode == 0
            ? retryable.Message
            : string.Create(CultureInfo.InvariantCulture, $"HTTP {retryable.StatusCode}: {retryable.Message}"),
        GeminiOutcome.Throttled throttled => "HTTP 429: " + throttled.Message,
        GeminiOutcome.Rejected rejected => rejected.Message,
        GeminiOutcome.ModelNotFound notFound => $"model '{notFound.Model}' not found: {notFound.Message}",
        GeminiOutcome.Fatal fatal => fatal.Message,
        _ => outcome.GetType().Name,
    };

    private string SpoolDirectory => _options.ImageSpoolDirectory is { Length: > 0 } directory ? directory : Path.GetTempPath();
}
