using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Gemini;

/// <summary>A Veo start: the model, the prompt, the optional first frame and the video's shape.</summary>
/// <param name="Model">The Veo model id.</param>
/// <param name="Prompt">The prompt as sent.</param>
/// <param name="Image">The source image (image-to-video), or null.</param>
/// <param name="AspectRatio"><c>16:9</c> or <c>9:16</c>.</param>
/// <param name="Resolution"><c>720p</c> or <c>1080p</c>, or null for the model's default.</param>
public sealed record VeoRequest(string Model, string Prompt, InputImage? Image, string AspectRatio, string? Resolution);

/// <summary>
/// Veo's long-running operations: starts one (<c>predictLongRunning</c>, the billed request), polls it
/// (<c>GET /v1beta/{name}</c>) and downloads its video to a temporary file. The key travels in the
/// <c>x-goog-api-key</c> header only, and only to <see cref="GeminiOptions.BaseUrl"/>'s host; errors map as for images.
/// </summary>
/// <remarks>
/// Like <see cref="GeminiClient"/> it enforces <see cref="GeminiOptions.Timeout"/> itself per request, so a timeout is
/// an outcome and the caller's cancellation is rethrown. A start that got no answer is <see cref="VeoStart.Unknown"/>,
/// never retryable: the operation may exist and be paid for.
/// </remarks>
public sealed partial class VeoClient(HttpClient httpClient, GeminiOptions options, TimeProvider timeProvider, ILogger<VeoClient> logger)
{
    /// <summary>Starts an operation.</summary>
    /// <param name="request">What to generate.</param>
    /// <param name="cancellationToken">Cancels the request (its outcome is then unknown too: the caller owns that).</param>
    public async Task<VeoStart> StartAsync(VeoRequest request, CancellationToken cancellationToken = default)
    {
        var body = new PredictLongRunningRequest(
            [new VeoInstance(request.Prompt, request.Image is { } image ? new VeoImage(image.Bytes, image.MimeType) : null)],
            new VeoParameters(request.AspectRatio, request.Resolution, SampleCount: 1));
        var content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, VeoJsonContext.Default.PredictLongRunningRequest));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var message = Message(
            HttpMethod.Post, new Uri(ApiBase + "models/" + Uri.EscapeDataString(request.Model) + ":predictLongRunning"));
        message.Content = content;

        var started = timeProvider.GetTimestamp();
        var answer = await SendAsync(message, request.Model, cancellationToken);
        using var response = answer.Response;
        if (response is null)
        {
            LogStartUnknown(logger, request.Model, ElapsedMilliseconds(started), answer.Failure!);
            return new VeoStart.Unknown(answer.Failure!);
        }

        if (!response.IsSuccessStatusCode)
        {
            var refused = await ErrorAsync(response, request.Model, cancellationToken);
            LogStartRefused(logger, request.Model, (int)response.StatusCode, refused.GetType().Name);
            return new VeoStart.Refused(refused);
        }

        var operation = await ReadOperationAsync(response, cancellationToken);
        if (operation?.Name is not { Length: > 0 } name)
        {
            // Accepted, yet no name came back: an operation may run that nobody can find.
            return new VeoStart.Unknown("HTTP 200 without an operation name");
        }

        LogStarted(logger, request.Model, name, ElapsedMilliseconds(started));
        return new VeoStart.Started(name);
    }

    /// <summary>Polls operation <paramref name="operationName"/> once.</summary>
    /// <exception cref="OperationCanceledException">The caller cancelled.</exception>
    public async Task<VeoPoll> PollAsync(string operationName, CancellationToken cancellationToken = default)
    {
        var path = string.Join('/', operationName.Split('/').Select(Uri.EscapeDataString));
        using var message = Message(HttpMethod.Get, new Uri(ApiBase + path));
        var answer = await SendAsync(message, operationName, cancellationToken);
        using var response = answer.Response;
        if (response is null)
        {
            return new VeoPoll.Unreachable(new GeminiOutcome.Retryable(0, answer.Failure!, null));
        }

        if (!response.IsSuccessStatusCode)
        {
            return new VeoPoll.Unreachable(await ErrorAsync(response, operationName, cancellationToken));
        }

        var operation = await ReadOperationAsync(response, cancellationToken);
        var poll = operation switch
        {
            null => new VeoPoll.Unreachable(new GeminiOutcome.Retryable(200, "HTTP 200 with a body that is not an operation", null)),
            { Done: not true } => new VeoPoll.Running(),
            { Error: { } error } => new VeoPoll.Failed(
                error.Code ?? 0, error.Status, GeminiClient.Redact(options.ApiKey, error.Message ?? "no message")),
            _ => Finished(operation.Response?.GenerateVideoResponse),
        };
        LogPolled(logger, operationName, poll.GetType().Name);
        return poll;
    }

    /// <summary>
    /// Downloads the video at <paramref name="videoUri"/> into a temporary file in <paramref name="directory"/>.
    /// </summary>
    /// <exception cref="OperationCanceledException">The caller cancelled; the partial file is deleted.</exception>
    public async Task<VeoDownload> DownloadAsync(Uri videoUri, string directory, CancellationToken cancellationToken = default)
    {
        if (!IsOnApiHost(videoUri))
        {
            // The key goes to Gemini's own host only.
            return new VeoDownload.Failed(new GeminiOutcome.Rejected("the video's URI is not on GEMINI_BASE_URL's host"));
        }

        using var message = Message(HttpMethod.Get, videoUri);
        var answer = await SendAsync(message, "download", cancellationToken, streamBody: true);
        using var response = answer.Response;
        if (response is null)
        {
            return new VeoDownload.Failed(new GeminiOutcome.Retryable(0, answer.Failure!, null));
        }

        if (!response.IsSuccessStatusCode)
        {
            var failure = await ErrorAsync(response, "video file", cancellationToken);
            LogDownloadFailed(logger, (int)response.StatusCode, failure.GetType().Name);
            return new VeoDownload.Failed(failure);
        }

        var file = new FileStream(
            Path.Combine(directory, "veo-" + Guid.NewGuid().ToString("N") + ".mp4"), FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, 81920, FileOptions.Asynchronous | FileOptions.DeleteOnClose);
        using var timeout = new CancellationTokenSource(options.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            await using var body = await response.Content.ReadAsStreamAsync(linked.Token);
            await body.CopyToAsync(file, linked.Token);
            file.Position = 0;
            LogDownloaded(logger, file.Length);
            return new VeoDownload.Saved(file);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException)
        {
            await file.DisposeAsync();
            cancellationToken.ThrowIfCancellationRequested();
            return new VeoDownload.Failed(new GeminiOutcome.Retryable(
                0, GeminiClient.Redact(options.ApiKey, "download cut short: " + exception.GetType().Name + ": " + exception.Message), null));
        }
    }

    private string ApiBase => options.BaseUrl.AbsoluteUri.TrimEnd('/') + "/v1beta/";

    private bool IsOnApiHost(Uri uri) =>
        uri.IsAbsoluteUri && uri.Scheme == options.BaseUrl.Scheme
        && string.Equals(uri.Authority, options.BaseUrl.Authority, StringComparison.OrdinalIgnoreCase);

    private HttpRequestMessage Message(HttpMethod method, Uri uri)
    {
        var message = new HttpRequestMessage(method, uri);

        // The key travels in a header only: a ?key= query string would end up in access and client logs.
        message.Headers.TryAddWithoutValidation("x-goog-api-key", options.ApiKey);
        return message;
    }

    /// <summary>Sends <paramref name="message"/> within the request timeout: the response, or why none came.</summary>
    private async Task<(HttpResponseMessage? Response, string? Failure)> SendAsync(
        HttpRequestMessage message, string what, CancellationToken cancellationToken, bool streamBody = false)
    {
        using var timeout = new CancellationTokenSource(options.Timeout, timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var completion = streamBody ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead;
            return (await httpClient.SendAsync(message, completion, linked.Token), null);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            return (null, string.Create(
                CultureInfo.InvariantCulture, $"No answer within {options.Timeout.TotalSeconds} s (GEMINI_TIMEOUT_SECONDS)."));
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or OperationCanceledException)
        {
            var failure = GeminiClient.Redact(options.ApiKey, exception.GetType().Name + ": " + exception.Message);
            LogTransportFailed(logger, what, failure);
            return (null, failure);
        }
    }

    private async Task<GeminiOutcome> ErrorAsync(HttpResponseMessage response, string model, CancellationToken cancellationToken)
    {
        var error = await GeminiClient.ReadErrorAsync(response.Content, cancellationToken);
        return GeminiClient.FromError((int)response.StatusCode, response.ReasonPhrase, model, error, options.ApiKey);
    }

    private static async Task<VeoOperation?> ReadOperationAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
            return await JsonSerializer.DeserializeAsync(stream, VeoJsonContext.Default.VeoOperation, cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static VeoPoll Finished(GenerateVideoResponse? response)
    {
        var uri = response?.GeneratedSamples?.Select(sample => sample.Video?.Uri).FirstOrDefault(uri => uri is { Length: > 0 });
        if (uri is not null && Uri.TryCreate(uri, UriKind.Absolute, out var videoUri))
        {
            return new VeoPoll.Done(videoUri);
        }

        var reasons = response?.RaiMediaFilteredReasons is { Count: > 0 } given
            ? given
            : ["no video and no reason given" + (response?.RaiMediaFilteredCount is > 0 ? " (filtered)" : "")];
        return new VeoPoll.Filtered(reasons);
    }

    private long ElapsedMilliseconds(long started) => (long)timeProvider.GetElapsedTime(started).TotalMilliseconds;
}
