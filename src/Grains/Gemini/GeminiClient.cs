using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Gemini;

/// <summary>
/// Calls <c>POST {BaseUrl}/v1beta/models/{model}:generateContent</c> for one image and maps every answer, and every
/// failure to get one, to a <see cref="GeminiOutcome"/>.
/// </summary>
/// <remarks>
/// The client enforces <see cref="GeminiOptions.Timeout"/> itself, per request, so a timeout (a retryable outcome) is
/// never confused with the caller's cancellation (rethrown). The <see cref="HttpClient"/> it is given must therefore not
/// time out first: its <see cref="HttpClient.Timeout"/> must be infinite or longer than the option.
/// </remarks>
public sealed partial class GeminiClient : IGeminiClient
{
    /// <summary>Error bodies are small JSON envelopes; anything longer is read no further and treated as unreadable.</summary>
    private const int MaxErrorBodyBytes = 1024 * 1024;

    private const string NoImage = "NO_IMAGE";

    private static readonly string[] ImageOnly = ["IMAGE"];

    private readonly HttpClient _httpClient;
    private readonly GeminiOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<GeminiClient> _logger;

    /// <summary>Creates the client; <see cref="GeminiServiceCollectionExtensions.AddGeminiClient"/> wires it.</summary>
    /// <param name="httpClient">The HTTP client; its own timeout must be infinite or longer than <see cref="GeminiOptions.Timeout"/>.</param>
    /// <param name="options">Key, base URL and timeout.</param>
    /// <param name="timeProvider">The clock for the request timeout and the logged duration.</param>
    /// <param name="logger">Where calls are logged (status, model, duration; never the key or image bytes).</param>
    public GeminiClient(HttpClient httpClient, GeminiOptions options, TimeProvider timeProvider, ILogger<GeminiClient> logger)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.ApiKey, "options.ApiKey");
        if (httpClient.Timeout != Timeout.InfiniteTimeSpan && httpClient.Timeout <= options.Timeout)
        {
            throw new ArgumentException(
                "HttpClient.Timeout must be infinite or longer than GeminiOptions.Timeout, which the client enforces itself.",
                nameof(httpClient));
        }

        _httpClient = httpClient;
        _options = options;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<GeminiOutcome> GenerateImageAsync(GeminiImageRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        cancellationToken.ThrowIfCancellationRequested();

        using var timeout = new CancellationTokenSource(_options.Timeout, _timeProvider);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        var started = _timeProvider.GetTimestamp();
        try
        {
            using var message = CreateRequestMessage(request);
            using var response = await _httpClient.SendAsync(message, HttpCompletionOption.ResponseHeadersRead, linked.Token)
                .ConfigureAwait(false);
            var outcome = await ReadOutcomeAsync(request.Model, response, linked.Token).ConfigureAwait(false);
            LogAnswered(
                outcome is GeminiOutcome.Image ? LogLevel.Debug : LogLevel.Information,
                request.Model, (int)response.StatusCode, ElapsedMilliseconds(started), outcome.GetType().Name);
            return outcome;
        }
        catch (OperationCanceledException exception) when (cancellationToken.IsCancellationRequested)
        {
            LogCancelled(request.Model, ElapsedMilliseconds(started));
            throw new OperationCanceledException("The caller cancelled the Gemini call.", exception, cancellationToken);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            LogTimedOut(request.Model, _options.Timeout.TotalSeconds);
            return new GeminiOutcome.Retryable(
                0,
                string.Create(CultureInfo.InvariantCulture, $"No answer within {_options.Timeout.TotalSeconds} s (GEMINI_TIMEOUT_SECONDS)."),
                null);
        }
        catch (Exception exception) when (exception is HttpRequestException or IOException or InvalidDataException
                                              or OperationCanceledException)
        {
            // A refused or dropped connection, a body cut short, or an inner handler's own timeout: nothing reached us.
            var failure = Redact(exception.GetType().Name + ": " + exception.Message);
            LogTransportFailed(request.Model, ElapsedMilliseconds(started), failure);
            return new GeminiOutcome.Retryable(0, failure, null);
        }
    }

    private HttpRequestMessage CreateRequestMessage(GeminiImageRequest request)
    {
        var parts = request.Parts.Select(part => part switch
        {
            GeminiPart.Image image => new Part(InlineData: new Blob(image.Value.MimeType, image.Value.Bytes)),
            GeminiPart.Text text => new Part(Text: text.Value),
            _ => throw new ArgumentException("Unknown part " + part.GetType().Name, nameof(request)),
        }).ToList();
        var imageConfig = request.AspectRatio is null && request.ImageSize is null
            ? null
            : new ImageConfig(request.AspectRatio, request.ImageSize);
        var body = new GenerateContentRequest([new Content("user", parts)], new GenerationConfig(ImageOnly, imageConfig));

        // One buffer (not a string) so the request carries a Content-Length; input images are at most ~20 MB.
        var content = new WrittenContent(JsonSerializer.SerializeToUtf8Bytes(body, GeminiJsonContext.Default.GenerateContentRequest), request.Written);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var uri = new Uri(
            _options.BaseUrl.AbsoluteUri.TrimEnd('/') + "/v1beta/models/" + Uri.EscapeDataString(request.Model) + ":generateContent");
        var message = new HttpRequestMessage(HttpMethod.Post, uri) { Content = content };

        // The key travels in a header only: a ?key= query string would end up in access and client logs.
        message.Headers.TryAddWithoutValidation("x-goog-api-key", _options.ApiKey);
        return message;
    }

    private async Task<GeminiOutcome> ReadOutcomeAsync(string model, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        if (response.IsSuccessStatusCode)
        {
            GenerateContentSummary body;
            var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                try
                {
                    // Decodes the image as it arrives into a temporary file: the ~27 MB of base64 of a 4K image and
                    // the image itself are never whole in memory.
                    body = await GenerateContentReader.ReadAsync(stream, SpoolDirectory, cancellationToken).ConfigureAwait(false);
                }
                catch (JsonException)
                {
                    return new GeminiOutcome.Retryable(status, $"HTTP {status} with a body that is not a generateContent response.", null);
                }
            }

            return FromResponse(body);
        }

        var error = await ReadErrorAsync(response.Content, cancellationToken).ConfigureAwait(false);
        return FromError(status, response.ReasonPhrase, model, error, _options.ApiKey);
    }

    /// <summary>The image of a 200 answer, or why there is none.</summary>
    /// <remarks><see cref="GenerateContentReader"/> applies the part rule: the image of <c>candidates[0]</c> is the last
    /// <c>inlineData</c> part that is not a thought (Gemini 3 models stream interim "thought" images before the final
    /// one), else the last one; its text is the non-thought text of the parts without an image.</remarks>
    private static GeminiOutcome FromResponse(GenerateContentSummary response)
    {
        if (!response.HasCandidate)
        {
            return new GeminiOutcome.Blocked(response.BlockReason ?? NoImage, null) { Usage = response.Usage };
        }

        if (response.Image is { } image)
        {
            return new GeminiOutcome.Image(image, response.Text) { Usage = response.Usage };
        }

        // STOP (or no reason) without an image is a refusal or an empty answer: Gemini's own NO_IMAGE.
        var reason = response.FinishReason is null or "STOP" or "FINISH_REASON_UNSPECIFIED"
            ? response.BlockReason ?? NoImage
            : response.FinishReason;
        return new GeminiOutcome.Blocked(reason, response.Text) { Usage = response.Usage };
    }

    /// <summary>Maps a non-2xx answer per the error table of the Gemini API (Veo's requests answer with the same).</summary>
    internal static GeminiOutcome FromError(int status, string? reasonPhrase, string model, ErrorBody? error, string apiKey)
    {
        var message = Redact(apiKey, error?.Message is { Length: > 0 } text
            ? text
            : string.Create(CultureInfo.InvariantCulture, $"HTTP {status} {reasonPhrase} without a Gemini error body.").Trim());
        var retryDelay = RetryDelay(error);
        return status switch
        {
            400 when IsInvalidKey(error) => new GeminiOutcome.Fatal(status, message, model, ServiceWide: true),
            400 when error?.Status == "FAILED_PRECONDITION" => new GeminiOutcome.Fatal(status, message, model, ServiceWide: false),
            400 => new GeminiOutcome.Rejected(message),
            401 or 403 => new GeminiOutcome.Fatal(status, message, model, ServiceWide: true),
            404 => new GeminiOutcome.ModelNotFound(model, message),
            429 => new GeminiOutcome.Throttled(message, retryDelay, QuotaId(error)),
            408 or >= 500 => new GeminiOutcome.Retryable(status, message, retryDelay),
            >= 400 => new GeminiOutcome.Rejected(message),

            // A redirect (or anything else) means GEMINI_BASE_URL does not point at the API: no job can succeed.
            _ => new GeminiOutcome.Fatal(status, message + " Unexpected status: check GEMINI_BASE_URL.", model, ServiceWide: true),
        };
    }

    private static bool IsInvalidKey(ErrorBody? error) =>
        error?.Details?.Any(d => IsDetail(d, "ErrorInfo") && d.Reason == "API_KEY_INVALID") == true
        || error?.Message?.Contains("API key not valid", StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>The longest server-given retry delay followed: 1 hour. A longer one (a bad or hostile answer) would
    /// park a job, or with a 429 the whole cluster's budget, for days.</summary>
    public static readonly TimeSpan MaxServerRetryDelay = TimeSpan.FromHours(1);

    private static TimeSpan? RetryDelay(ErrorBody? error)
    {
        var retryInfo = error?.Details?.FirstOrDefault(d => IsDetail(d, "RetryInfo"));
        return ProtobufDuration.TryParse(retryInfo?.RetryDelay, out var delay) && delay >= TimeSpan.Zero
            ? (delay > MaxServerRetryDelay ? MaxServerRetryDelay : delay)
            : null;
    }

    private static string? QuotaId(ErrorBody? error) =>
        error?.Details?.FirstOrDefault(d => IsDetail(d, "QuotaFailure"))?.Violations?.FirstOrDefault()?.QuotaId;

    private static bool IsDetail(ErrorDetail detail, string rpcType) =>
        detail.Type?.EndsWith("google.rpc." + rpcType, StringComparison.Ordinal) == true;

    /// <summary>Reads a (small) error envelope; null when the body is missing, too long, cut short or not the envelope.</summary>
    internal static async Task<ErrorBody?> ReadErrorAsync(HttpContent content, CancellationToken cancellationToken)
    {
        try
        {
            var stream = await content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
            await using (stream.ConfigureAwait(false))
            {
                var buffer = new MemoryStream();
                var chunk = new byte[16 * 1024];
                int read;
                while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
                {
                    if (buffer.Length + read > MaxErrorBodyBytes)
                    {
                        return null;
                    }

                    buffer.Write(chunk, 0, read);
                }

                return buffer.Length == 0
                    ? null
                    : JsonSerializer.Deserialize(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), GeminiJsonContext.Default.ErrorEnvelope)?.Error;
            }
        }
        catch (Exception exception) when (exception is JsonException or HttpRequestException or IOException)
        {
            // The status alone still decides the outcome.
            return null;
        }
    }

    /// <summary>Gemini does not echo the key, but nothing it or the network stack says may carry it further.</summary>
    /// <remarks>Keys shorter than 8 characters (test keys) are not redacted: replacing them would garble every message.</remarks>
    private string Redact(string text) => Redact(_options.ApiKey, text);

    /// <summary><paramref name="text"/> without <paramref name="apiKey"/> (see the remarks of the instance method).</summary>
    internal static string Redact(string apiKey, string text) =>
        apiKey.Length >= 8 ? text.Replace(apiKey, "[redacted]", StringComparison.Ordinal) : text;

    private string SpoolDirectory => _options.ImageSpoolDirectory is { Length: > 0 } directory ? directory : Path.GetTempPath();

    private long ElapsedMilliseconds(long started) => (long)_timeProvider.GetElapsedTime(started).TotalMilliseconds;
}
