using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// Veo as a long-running operation: <c>POST /v1beta/models/{model}:predictLongRunning</c> starts one (key, model, body
/// and quota checked like <c>generateContent</c>), <c>GET /v1beta/models/{model}/operations/{id}</c> polls it, and
/// <c>GET /v1beta/files/{id}:download?alt=media</c> serves the generated MP4.
/// </summary>
/// <remarks>
/// Only prompt directives inject faults here: the scripted queue and the probabilities of the fault settings are for
/// <c>generateContent</c>, so a benchmark's random faults never touch a video. Polls and downloads are not counted by
/// the quota, as at Google.
/// </remarks>
internal sealed partial class VideoEndpoint(
    EmulatorOptions options,
    EmulatorStats stats,
    EmulatorFaults faults,
    QuotaLimiter quota,
    VideoOperations operations,
    IHostApplicationLifetime lifetime,
    ILogger<VideoEndpoint> logger)
{
    /// <summary>The <c>@type</c> of a done operation's response.</summary>
    public const string ResponseType = "type.googleapis.com/google.ai.generativelanguage.v1beta.PredictLongRunningResponse";

    private const string FilteredReason =
        "Your prompt or input image may violate our usage guidelines, so no video was generated. Support codes: 58061214";

    private readonly HashSet<string> _models = new(options.VideoModels, StringComparer.Ordinal);

    /// <summary>Handles <c>predictLongRunning</c> for <paramref name="model"/>.</summary>
    public async Task StartAsync(HttpContext context, string model)
    {
        stats.VideoStartReceived();
        var (error, outcome) = await TryStartAsync(context, model);
        if (outcome != RequestOutcome.Success)
        {
            stats.VideoStartRefused(outcome);
        }

        if (error is not null)
        {
            await error.WriteAsync(context.Response, context.RequestAborted);
        }
    }

    /// <summary>Handles a poll of <c>models/{model}/operations/{id}</c>.</summary>
    public Task PollAsync(HttpContext context, string name)
    {
        if (GenerateContentEndpoint.CheckKey(options, context.Request.Headers["x-goog-api-key"].ToString()) is { } keyError)
        {
            return keyError.WriteAsync(context.Response, context.RequestAborted);
        }

        if (operations.Find(name) is not { } operation)
        {
            return ApiError.EntityNotFound.WriteAsync(context.Response, context.RequestAborted);
        }

        stats.VideoPolled(name);
        var done = options.TimeProvider.GetUtcNow() >= operation.DoneAt;
        return WriteJsonAsync(context, writer =>
        {
            writer.WriteString("name", operation.Name);
            writer.WriteBoolean("done", done);
            if (!done)
            {
                return;
            }

            if (operation.End == VideoEnd.Failed)
            {
                writer.WriteStartObject("error");
                writer.WriteNumber("code", VideoOperation.RpcCodes[operation.ErrorStatus]);
                writer.WriteString("message", "Video generation failed: " + operation.ErrorStatus + ". Please try again later.");
                writer.WriteString("status", operation.ErrorStatus);
                writer.WriteEndObject();
                return;
            }

            writer.WriteStartObject("response");
            writer.WriteString("@type", ResponseType);
            writer.WriteStartObject("generateVideoResponse");
            if (operation.End == VideoEnd.Filtered)
            {
                writer.WriteNumber("raiMediaFilteredCount", operation.Request.SampleCount);
                writer.WriteStartArray("raiMediaFilteredReasons");
                writer.WriteStringValue(FilteredReason);
                writer.WriteEndArray();
            }
            else
            {
                writer.WriteStartArray("generatedSamples");
                foreach (var fileId in operation.FileIds)
                {
                    writer.WriteStartObject();
                    writer.WriteStartObject("video");
                    writer.WriteString("uri", $"{context.Request.Scheme}://{context.Request.Host}/v1beta/files/{fileId}:download?alt=media");
                    writer.WriteEndObject();
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        });
    }

    /// <summary>Handles <c>GET /v1beta/files/{id}:download?alt=media</c>.</summary>
    public async Task DownloadAsync(HttpContext context, string fileId)
    {
        if (GenerateContentEndpoint.CheckKey(options, context.Request.Headers["x-goog-api-key"].ToString()) is { } keyError)
        {
            await keyError.WriteAsync(context.Response, context.RequestAborted);
            return;
        }

        if (operations.FindFile(fileId) is not { } file
            || file.Operation.End != VideoEnd.Video
            || options.TimeProvider.GetUtcNow() < file.Operation.DoneAt)
        {
            await ApiError.EntityNotFound.WriteAsync(context.Response, context.RequestAborted);
            return;
        }

        var (operation, sample) = file;

        if (!string.Equals(context.Request.Query["alt"], "media", StringComparison.Ordinal))
        {
            await ApiError.InvalidArgument("Downloading a file's content needs alt=media.").WriteAsync(context.Response, context.RequestAborted);
            return;
        }

        if (operation.NextDownloadFails(fileId))
        {
            stats.VideoDownloaded(operation.Name, failed: true);
            LogDownloadFault(logger, operation.Request.Model);
            await ApiError.Unavailable.WriteAsync(context.Response, context.RequestAborted);
            return;
        }

        stats.VideoDownloaded(operation.Name, failed: false);
        var seed = ImageRenderer.StableHash(operation.Request.Prompt) ^ ImageRenderer.SplitMix((ulong)sample);
        var mp4 = Mp4Writer.Write(seed, operation.Request.DurationSeconds, options.VideoMediaBytes);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = "video/mp4";
        context.Response.ContentLength = mp4.Length;
        await context.Response.Body.WriteAsync(mp4, context.RequestAborted);
    }

    private async Task<(ApiError? Error, RequestOutcome Outcome)> TryStartAsync(HttpContext context, string model)
    {
        if (GenerateContentEndpoint.CheckKey(options, context.Request.Headers["x-goog-api-key"].ToString()) is { } keyError)
        {
            return (keyError, RequestOutcome.ClientError);
        }

        if (!_models.Contains(model))
        {
            return (ApiError.ModelNotFound(model, "predictLongRunning"), RequestOutcome.ClientError);
        }

        VideoRequest request;
        try
        {
            using var document = await JsonDocument.ParseAsync(context.Request.Body, default, context.RequestAborted);
            var (read, invalid) = VideoRequest.Read(document.RootElement, model);
            if (invalid is not null)
            {
                return (invalid, RequestOutcome.ClientError);
            }

            request = read!;
        }
        catch (JsonException)
        {
            return (ApiError.InvalidArgument("Invalid JSON payload received. Unexpected token."), RequestOutcome.ClientError);
        }

        if (!PromptDirectives.TryParse(request.Prompt, out var directives, out var directiveError))
        {
            return (ApiError.InvalidArgument(directiveError!), RequestOutcome.ClientError);
        }

        if (directives.FaultAppliesTo(model) && directives.Fault is FaultKind.ImageSafety or FaultKind.NoImage or FaultKind.Refusal or FaultKind.Blocked)
        {
            return (ApiError.InvalidArgument(
                $"The emulator directive {directives.Fault} is for generateContent; for Veo use video-fail or video-filtered."),
                RequestOutcome.ClientError);
        }

        var admission = quota.Admit(model);
        if (admission is QuotaAdmission.Exceeded exceeded)
        {
            return (ApiError.QuotaExceeded(model, exceeded.QuotaId, exceeded.Limit, exceeded.RetryDelay), RequestOutcome.QuotaExceeded);
        }

        var decision = faults.Decide("veo:" + request.Prompt, model, directives, randomFaults: false);
        if (decision.Kind is FaultKind.ResourceExhausted or FaultKind.QuotaRetry)
        {
            quota.Release((QuotaAdmission.Admitted)admission);
        }

        if (decision.Latency > TimeSpan.Zero || decision.Kind == FaultKind.Hang)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, lifetime.ApplicationStopping);
            try
            {
                await Task.Delay(decision.Kind == FaultKind.Hang ? Timeout.InfiniteTimeSpan : decision.Latency, options.TimeProvider, stop.Token);
            }
            catch (OperationCanceledException)
            {
                context.Abort();
                return (null, RequestOutcome.Abandoned);
            }
        }

        switch (decision.Kind)
        {
            case FaultKind.Internal:
                return (ApiError.Internal, RequestOutcome.Fault);
            case FaultKind.Unavailable:
                return (ApiError.Unavailable, RequestOutcome.Fault);
            case FaultKind.Precondition:
                return (ApiError.FailedPrecondition, RequestOutcome.Fault);
            case FaultKind.ResourceExhausted:
                return (ApiError.ResourceExhausted, RequestOutcome.InjectedThrottle);
            case FaultKind.QuotaRetry:
                var limit = Math.Max(1, options.WindowLimitFor(model));
                return (ApiError.QuotaExceeded(model, QuotaLimiter.PerMinuteQuotaId, limit, decision.RetryDelay), RequestOutcome.InjectedThrottle);
        }

        var now = options.TimeProvider.GetUtcNow();
        var operation = operations.Create(request, now, directives.VideoTime ?? options.VideoGenerationTime, directives);
        var lost = directives.LostStarts is { } lostStarts && faults.Count("lost-start:" + request.Prompt) <= lostStarts;
        stats.VideoStarted(operation, lost);
        if (lost)
        {
            // The operation runs and is billed, but the client never learns its name.
            LogStartAnswerLost(logger, model);
            context.Abort();
            return (null, RequestOutcome.Success);
        }

        await WriteJsonAsync(context, writer => writer.WriteString("name", operation.Name));
        return (null, RequestOutcome.Success);
    }

    private static Task WriteJsonAsync(HttpContext context, Action<Utf8JsonWriter> write)
    {
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=UTF-8";
        using (var writer = new Utf8JsonWriter(response.BodyWriter, ApiError.WriterOptions))
        {
            writer.WriteStartObject();
            write(writer);
            writer.WriteEndObject();
        }

        return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }
}
