using System.Buffers.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// <c>POST /v1beta/models/{model}:generateContent</c>: checks the key, the model and the body like Google, applies the
/// quota, then answers with an image or with the fault the settings, the script or a prompt directive ask for.
/// </summary>
internal sealed partial class GenerateContentEndpoint(
    EmulatorOptions options,
    EmulatorStats stats,
    EmulatorFaults faults,
    QuotaLimiter quota,
    ImageRenderer images,
    IHostApplicationLifetime lifetime,
    ILogger<GenerateContentEndpoint> logger)
{
    /// <summary>The route value holding <c>{model}:{method}</c>.</summary>
    public const string RouteValue = "rest";

    private const int ImageTokens = 1290;
    private const int InputImageTokens = 258;
    private const string AnswerText = "Here is the image you asked for.";
    private const string RefusalText =
        "I can't create that image, as it may go against my guidelines. Is there something else I can help you with?";

    private readonly Dictionary<string, EmulatedModel> _models =
        options.Models.Distinct(StringComparer.Ordinal).ToDictionary(name => name, EmulatedModel.For, StringComparer.Ordinal);

    private long _responses;

    /// <summary>Handles one request to <c>/v1beta/models/{**rest}</c>.</summary>
    public async Task HandleAsync(HttpContext context)
    {
        var rest = context.Request.RouteValues[RouteValue] as string ?? "";
        var colon = rest.LastIndexOf(':');
        if (colon <= 0 || !HttpMethods.IsPost(context.Request.Method) || rest.AsSpan(colon + 1) is not "generateContent")
        {
            await ApiError.MethodNotFound.WriteAsync(context.Response, context.RequestAborted);
            return;
        }

        var model = rest[..colon];
        var trace = new Trace(stats.Arrive(model), model);
        try
        {
            await AnswerAsync(context, trace);
        }
        finally
        {
            var request = trace.Request;
            var prompt = request?.Prompt ?? "";
            stats.Complete(new RequestLogEntry(
                trace.ArrivedAt,
                model,
                trace.Status,
                trace.Outcome,
                trace.Fault,
                prompt.Length <= 80 ? prompt : prompt[..80],
                request?.AspectRatio,
                request?.ImageSize,
                request?.ReferenceImages ?? 0,
                request?.Parts ?? [],
                trace.Answered?.AspectRatio,
                trace.Answered?.Width,
                trace.Answered?.Height));
        }
    }

    private async Task AnswerAsync(HttpContext context, Trace trace)
    {
        var aborted = context.RequestAborted;
        if (CheckKey(options, context.Request.Headers["x-goog-api-key"].ToString()) is { } keyError)
        {
            await SendErrorAsync(context, trace, keyError, RequestOutcome.ClientError);
            return;
        }

        if (EmulatedModel.RetiredModels.Contains(trace.Model) || !_models.TryGetValue(trace.Model, out var model))
        {
            await SendErrorAsync(context, trace, ApiError.ModelNotFound(trace.Model), RequestOutcome.ClientError);
            return;
        }

        var reading = await ReadBodyAsync(context.Request, model, aborted);
        if (reading is RequestReading.Invalid invalid)
        {
            LogInvalidRequest(logger, trace.Model);
            await SendErrorAsync(context, trace, invalid.Error, RequestOutcome.ClientError);
            return;
        }

        var request = ((RequestReading.Valid)reading).Request;
        trace.Request = request;
        if (!PromptDirectives.TryParse(request.Prompt, out var directives, out var directiveError))
        {
            await SendErrorAsync(context, trace, ApiError.InvalidArgument(directiveError!), RequestOutcome.ClientError);
            return;
        }

        var admission = quota.Admit(model.Name);
        if (admission is QuotaAdmission.Exceeded exceeded)
        {
            var error = ApiError.QuotaExceeded(model.Name, exceeded.QuotaId, exceeded.Limit, exceeded.RetryDelay);
            await SendErrorAsync(context, trace, error, RequestOutcome.QuotaExceeded);
            return;
        }

        var decision = faults.Decide(request.Prompt, model.Name, directives);
        if (decision.Kind is FaultKind.ResourceExhausted or FaultKind.QuotaRetry)
        {
            quota.Release((QuotaAdmission.Admitted)admission);
        }

        if (decision.Kind != FaultKind.None)
        {
            trace.Fault = decision.Kind;
            LogFaultInjected(logger, decision.Kind, trace.Model);
        }

        if (decision.Latency > TimeSpan.Zero || decision.Kind == FaultKind.Hang)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(aborted, lifetime.ApplicationStopping);
            try
            {
                var wait = decision.Kind == FaultKind.Hang ? Timeout.InfiniteTimeSpan : decision.Latency;
                await Task.Delay(wait, options.TimeProvider, stop.Token);
            }
            catch (OperationCanceledException)
            {
                trace.Outcome = RequestOutcome.Abandoned;
                context.Abort();
                return;
            }
        }

        switch (decision.Kind)
        {
            case FaultKind.Internal:
                await SendErrorAsync(context, trace, ApiError.Internal, RequestOutcome.Fault);
                break;
            case FaultKind.Unavailable:
                await SendErrorAsync(context, trace, ApiError.Unavailable, RequestOutcome.Fault);
                break;
            case FaultKind.Precondition:
                await SendErrorAsync(context, trace, ApiError.FailedPrecondition, RequestOutcome.Fault);
                break;
            case FaultKind.ResourceExhausted:
                await SendErrorAsync(context, trace, ApiError.ResourceExhausted, RequestOutcome.InjectedThrottle);
                break;
            case FaultKind.QuotaRetry:
                var limit = Math.Max(1, options.WindowLimitFor(model.Name));
                var throttle = ApiError.QuotaExceeded(model.Name, QuotaLimiter.PerMinuteQuotaId, limit, decision.RetryDelay);
                await SendErrorAsync(context, trace, throttle, RequestOutcome.InjectedThrottle);
                break;
            default:
                await SendAnswerAsync(context, trace, model, request, decision.Kind);
                break;
        }
    }

    /// <summary>The error Google answers for <paramref name="key"/> (the <c>x-goog-api-key</c> header), or null when
    /// it is the accepted key.</summary>
    public static ApiError? CheckKey(EmulatorOptions options, string key)
    {
        if (key.Length == 0)
        {
            return ApiError.MissingKey;
        }

        if (options.LeakedApiKey is { Length: > 0 } leaked && string.Equals(key, leaked, StringComparison.Ordinal))
        {
            return ApiError.LeakedKey;
        }

        return string.Equals(key, options.ApiKey, StringComparison.Ordinal) ? null : ApiError.InvalidKey;
    }

    private static async Task<RequestReading> ReadBodyAsync(HttpRequest request, EmulatedModel model, CancellationToken cancellationToken)
    {
        try
        {
            if (request.ContentLength == 0)
            {
                using var empty = JsonDocument.Parse("{}");
                return GenerateContentRequest.Read(empty.RootElement, model);
            }

            using var document = await JsonDocument.ParseAsync(request.Body, default, cancellationToken);
            return GenerateContentRequest.Read(document.RootElement, model);
        }
        catch (JsonException)
        {
            return new RequestReading.Invalid(ApiError.InvalidArgument("Invalid JSON payload received. Unexpected token."));
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return new RequestReading.Invalid(
                ApiError.InvalidArgument($"Request payload size exceeds the limit: {GenerateContentRequest.MaxInlineBytes} bytes."));
        }
    }

    private static Task SendErrorAsync(HttpContext context, Trace trace, ApiError error, RequestOutcome outcome)
    {
        trace.Status = error.Code;
        trace.Outcome = outcome;
        return error.WriteAsync(context.Response, context.RequestAborted);
    }

    private Task SendAnswerAsync(HttpContext context, Trace trace, EmulatedModel model, GenerateContentRequest request, FaultKind kind)
    {
        trace.Status = StatusCodes.Status200OK;
        trace.Outcome = kind == FaultKind.None ? RequestOutcome.Success : RequestOutcome.Fault;
        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=UTF-8";

        var promptHash = ImageRenderer.StableHash(request.Prompt);
        var textTokens = Math.Max(1, (request.Prompt.Length + 3) / 4);
        var imageInputTokens = request.ReferenceImages * InputImageTokens;
        var outputText = kind switch
        {
            FaultKind.Refusal => RefusalText,
            FaultKind.None when options.ResponseText || !request.WantsImage => AnswerText,
            _ => null,
        };
        var sendsImage = kind == FaultKind.None && request.WantsImage;
        var outputTokens = (outputText is null ? 0 : (outputText.Length + 3) / 4) + (sendsImage ? ImageTokens : 0);

        using (var writer = new Utf8JsonWriter(response.BodyWriter, ApiError.WriterOptions))
        {
            writer.WriteStartObject();
            if (kind == FaultKind.Blocked)
            {
                writer.WriteStartObject("promptFeedback");
                writer.WriteString("blockReason", "PROHIBITED_CONTENT");
                writer.WriteEndObject();
                outputTokens = 0;
            }
            else
            {
                writer.WriteStartArray("candidates");
                writer.WriteStartObject();
                if (outputText is not null || sendsImage)
                {
                    writer.WriteStartObject("content");
                    writer.WriteStartArray("parts");
                    if (outputText is not null)
                    {
                        writer.WriteStartObject();
                        writer.WriteString("text", outputText);
                        writer.WriteEndObject();
                    }

                    if (sendsImage)
                    {
                        trace.Answered = WriteImageParts(writer, model, request, promptHash);
                    }

                    writer.WriteEndArray();
                    writer.WriteString("role", "model");
                    writer.WriteEndObject();
                }

                writer.WriteString("finishReason", kind switch
                {
                    FaultKind.ImageSafety => "IMAGE_SAFETY",
                    FaultKind.NoImage => "NO_IMAGE",
                    _ => "STOP",
                });
                writer.WriteNumber("index", 0);
                writer.WriteEndObject();
                writer.WriteEndArray();
            }

            WriteUsage(writer, textTokens, imageInputTokens, outputTokens, sendsImage);
            writer.WriteString("modelVersion", model.Name);
            writer.WriteString("responseId", NextResponseId());
            writer.WriteEndObject();
        }

        return response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }

    /// <summary>The ratio of the answer: the requested one; for an edit without one (Google keeps the source's
    /// shape), the supported ratio nearest to the first input image's; else 1:1.</summary>
    private static string AnswerRatio(EmulatedModel model, GenerateContentRequest request) =>
        request.AspectRatio
        ?? (request.FirstImage is { Width: { } width, Height: { } height } ? model.NearestRatio(width, height) : "1:1");

    private AnsweredImage WriteImageParts(Utf8JsonWriter writer, EmulatedModel model, GenerateContentRequest request, ulong promptHash)
    {
        var aspectRatio = AnswerRatio(model, request);
        var (width, height) = images.Size(model, aspectRatio, model.EffectiveImageSize(request.ImageSize));
        var thinks = options.ThoughtImages && model.ThinksInImages;
        if (thinks)
        {
            writer.WriteStartObject();
            WriteInlineData(writer, images.Render(promptHash, width, height, thought: true));
            writer.WriteBoolean("thought", true);
            writer.WriteEndObject();
        }

        writer.WriteStartObject();
        WriteInlineData(writer, images.Render(promptHash, width, height, thought: false));
        if (thinks)
        {
            Span<byte> signature = stackalloc byte[16];
            BitConverter.TryWriteBytes(signature, ImageRenderer.SplitMix(promptHash));
            BitConverter.TryWriteBytes(signature[8..], ImageRenderer.SplitMix(~promptHash));
            writer.WriteBase64String("thoughtSignature", signature);
        }

        writer.WriteEndObject();
        return new AnsweredImage(aspectRatio, width, height);
    }

    private static void WriteInlineData(Utf8JsonWriter writer, byte[] png)
    {
        writer.WriteStartObject("inlineData");
        writer.WriteString("mimeType", "image/png");
        writer.WriteBase64String("data", png);
        writer.WriteEndObject();
    }

    private static void WriteUsage(Utf8JsonWriter writer, int textTokens, int imageInputTokens, int outputTokens, bool sentImage)
    {
        var promptTokens = textTokens + imageInputTokens;
        writer.WriteStartObject("usageMetadata");
        writer.WriteNumber("promptTokenCount", promptTokens);
        if (outputTokens > 0)
        {
            writer.WriteNumber("candidatesTokenCount", outputTokens);
        }

        writer.WriteNumber("totalTokenCount", promptTokens + outputTokens);
        writer.WriteStartArray("promptTokensDetails");
        WriteModality(writer, "TEXT", textTokens);
        if (imageInputTokens > 0)
        {
            WriteModality(writer, "IMAGE", imageInputTokens);
        }

        writer.WriteEndArray();
        if (sentImage)
        {
            writer.WriteStartArray("candidatesTokensDetails");
            WriteModality(writer, "IMAGE", ImageTokens);
            writer.WriteEndArray();
        }

        writer.WriteEndObject();
    }

    private static void WriteModality(Utf8JsonWriter writer, string modality, int tokens)
    {
        writer.WriteStartObject();
        writer.WriteString("modality", modality);
        writer.WriteNumber("tokenCount", tokens);
        writer.WriteEndObject();
    }

    private string NextResponseId()
    {
        var n = (ulong)Interlocked.Increment(ref _responses);
        Span<byte> bytes = stackalloc byte[17];
        BitConverter.TryWriteBytes(bytes, ImageRenderer.SplitMix(n));
        BitConverter.TryWriteBytes(bytes[8..], ImageRenderer.SplitMix(n ^ 0x5DEECE66DUL));
        bytes[16] = (byte)n;
        return Base64Url.EncodeToString(bytes);
    }

    /// <summary>What happened to one request, for the statistics.</summary>
    private sealed class Trace(DateTimeOffset arrivedAt, string model)
    {
        public DateTimeOffset ArrivedAt { get; } = arrivedAt;

        public string Model { get; } = model;

        public int Status { get; set; }

        public RequestOutcome Outcome { get; set; } = RequestOutcome.Abandoned;

        public FaultKind? Fault { get; set; }

        public GenerateContentRequest? Request { get; set; }

        public AnsweredImage? Answered { get; set; }
    }

    private sealed record AnsweredImage(string AspectRatio, int Width, int Height);
}
