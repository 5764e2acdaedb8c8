using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace GenerationWorker.GeminiEmulator;

/// <summary>A Google API error: <c>{"error":{"code","message","status","details"?}}</c>.</summary>
/// <param name="Code">The HTTP status.</param>
/// <param name="Status">The canonical status name, for example <c>INVALID_ARGUMENT</c>.</param>
/// <param name="Message">The human readable message.</param>
/// <param name="Details">The <c>google.rpc</c> details; omitted from the JSON when empty.</param>
internal sealed record ApiError(int Code, string Status, string Message, IReadOnlyList<ErrorDetail> Details)
{
    /// <summary>The writer settings of every JSON body the emulator sends (no escaping of '+' or quotes as \u0022).</summary>
    public static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>400 INVALID_ARGUMENT.</summary>
    public static ApiError InvalidArgument(string message) => new(400, "INVALID_ARGUMENT", message, []);

    /// <summary>403 PERMISSION_DENIED for a request without key.</summary>
    public static readonly ApiError MissingKey = new(
        403,
        "PERMISSION_DENIED",
        "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
        []);

    /// <summary>400 INVALID_ARGUMENT for a wrong key.</summary>
    public static readonly ApiError InvalidKey = new(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        [new ErrorDetail.ErrorInfo("API_KEY_INVALID", "googleapis.com", "generativelanguage.googleapis.com")]);

    /// <summary>403 PERMISSION_DENIED for a key reported as leaked.</summary>
    public static readonly ApiError LeakedKey = new(
        403, "PERMISSION_DENIED", "Your API key was reported as leaked. Please use another API key.", []);

    /// <summary>400 FAILED_PRECONDITION, as Google answers a project that may not use the API (or the model) where it
    /// is: the free tier in an unsupported country, a paid-only model on a free-tier project.</summary>
    public static readonly ApiError FailedPrecondition = new(
        400, "FAILED_PRECONDITION", "User location is not supported for the API use.", []);

    /// <summary>500 INTERNAL.</summary>
    public static readonly ApiError Internal = new(
        500,
        "INTERNAL",
        "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        []);

    /// <summary>503 UNAVAILABLE.</summary>
    public static readonly ApiError Unavailable = new(503, "UNAVAILABLE", "The model is overloaded. Please try again later.", []);

    /// <summary>429 RESOURCE_EXHAUSTED without details.</summary>
    public static readonly ApiError ResourceExhausted = new(
        429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).", []);

    /// <summary>404 NOT_FOUND for an unknown path or method.</summary>
    public static readonly ApiError MethodNotFound = new(404, "NOT_FOUND", "Method not found.", []);

    /// <summary>404 NOT_FOUND for an unknown operation or file.</summary>
    public static readonly ApiError EntityNotFound = new(404, "NOT_FOUND", "Requested entity was not found.", []);

    /// <summary>404 NOT_FOUND for an unknown model, worded like Google's.</summary>
    /// <param name="model">The model id of the URL.</param>
    /// <param name="method">The method called: <c>generateContent</c> or <c>predictLongRunning</c>.</param>
    public static ApiError ModelNotFound(string model, string method = "generateContent") => new(
        404,
        "NOT_FOUND",
        $"models/{model} is not found for API version v1beta, or is not supported for {method}. Call ListModels to see the list of available models and their supported methods.",
        []);

    /// <summary>429 RESOURCE_EXHAUSTED with QuotaFailure, Help and RetryInfo.</summary>
    public static ApiError QuotaExceeded(string model, string quotaId, int limit, TimeSpan retryDelay)
    {
        var delay = ProtoDuration.Format(retryDelay);
        const string metric = "generativelanguage.googleapis.com/generate_content_free_tier_requests";
        var message =
            "You exceeded your current quota, please check your plan and billing details. For more information on this error, " +
            "head to: https://ai.google.dev/gemini-api/docs/rate-limits. To monitor your current usage, head to: " +
            $"https://ai.dev/usage?tab=rate-limit. \n* Quota exceeded for metric: {metric}, limit: {limit.ToString(CultureInfo.InvariantCulture)}, " +
            $"model: {model}\nPlease retry in {delay}.";
        return new ApiError(
            429,
            "RESOURCE_EXHAUSTED",
            message,
            [
                new ErrorDetail.QuotaFailure(metric, quotaId, model, limit.ToString(CultureInfo.InvariantCulture)),
                new ErrorDetail.Help("Learn more about Gemini API quotas", "https://ai.google.dev/gemini-api/docs/rate-limits"),
                new ErrorDetail.RetryInfo(delay),
            ]);
    }

    /// <summary>Sends this error as the response.</summary>
    public Task WriteAsync(HttpResponse response, CancellationToken cancellationToken)
    {
        response.StatusCode = Code;
        response.ContentType = "application/json; charset=UTF-8";
        using (var writer = new Utf8JsonWriter(response.BodyWriter, WriterOptions))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteNumber("code", Code);
            writer.WriteString("message", Message);
            writer.WriteString("status", Status);
            if (Details.Count > 0)
            {
                writer.WriteStartArray("details");
                foreach (var detail in Details)
                {
                    writer.WriteStartObject();
                    detail.Write(writer);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return response.BodyWriter.FlushAsync(cancellationToken).AsTask();
    }
}

/// <summary>One entry of an error's <c>details</c>, a <c>google.rpc</c> message with its <c>@type</c>.</summary>
internal abstract record ErrorDetail
{
    private ErrorDetail() { }

    /// <summary>Writes the members of the detail object.</summary>
    public abstract void Write(Utf8JsonWriter writer);

    /// <summary><c>google.rpc.ErrorInfo</c>.</summary>
    public sealed record ErrorInfo(string Reason, string Domain, string Service) : ErrorDetail
    {
        /// <inheritdoc/>
        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteString("@type", "type.googleapis.com/google.rpc.ErrorInfo");
            writer.WriteString("reason", Reason);
            writer.WriteString("domain", Domain);
            writer.WriteStartObject("metadata");
            writer.WriteString("service", Service);
            writer.WriteEndObject();
        }
    }

    /// <summary><c>google.rpc.QuotaFailure</c> with one violation.</summary>
    public sealed record QuotaFailure(string Metric, string QuotaId, string Model, string Value) : ErrorDetail
    {
        /// <inheritdoc/>
        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteString("@type", "type.googleapis.com/google.rpc.QuotaFailure");
            writer.WriteStartArray("violations");
            writer.WriteStartObject();
            writer.WriteString("quotaMetric", Metric);
            writer.WriteString("quotaId", QuotaId);
            writer.WriteStartObject("quotaDimensions");
            writer.WriteString("location", "global");
            writer.WriteString("model", Model);
            writer.WriteEndObject();
            writer.WriteString("quotaValue", Value);
            writer.WriteEndObject();
            writer.WriteEndArray();
        }
    }

    /// <summary><c>google.rpc.Help</c> with one link.</summary>
    public sealed record Help(string Description, string Url) : ErrorDetail
    {
        /// <inheritdoc/>
        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteString("@type", "type.googleapis.com/google.rpc.Help");
            writer.WriteStartArray("links");
            writer.WriteStartObject();
            writer.WriteString("description", Description);
            writer.WriteString("url", Url);
            writer.WriteEndObject();
            writer.WriteEndArray();
        }
    }

    /// <summary><c>google.rpc.RetryInfo</c>.</summary>
    /// <param name="RetryDelay">A protobuf Duration string such as <c>37s</c> or <c>2.5s</c>.</param>
    public sealed record RetryInfo(string RetryDelay) : ErrorDetail
    {
        /// <inheritdoc/>
        public override void Write(Utf8JsonWriter writer)
        {
            writer.WriteString("@type", "type.googleapis.com/google.rpc.RetryInfo");
            writer.WriteString("retryDelay", RetryDelay);
        }
    }
}

/// <summary>The JSON form of <c>google.protobuf.Duration</c>: seconds with the fraction only as long as needed.</summary>
public static class ProtoDuration
{
    /// <summary>Formats <paramref name="duration"/> as <c>"37s"</c>, <c>"2.5s"</c> or <c>"0.0001234s"</c> (exact to the tick).</summary>
    public static string Format(TimeSpan duration)
    {
        if (duration < TimeSpan.Zero)
        {
            duration = TimeSpan.Zero;
        }

        var seconds = duration.Ticks / TimeSpan.TicksPerSecond;
        var fraction = duration.Ticks % TimeSpan.TicksPerSecond;
        return fraction == 0
            ? seconds.ToString(CultureInfo.InvariantCulture) + "s"
            : seconds.ToString(CultureInfo.InvariantCulture) + "." + fraction.ToString("D7", CultureInfo.InvariantCulture).TrimEnd('0') + "s";
    }

    /// <summary>Parses a Duration string such as <c>"45.837906927s"</c> (to the nearest tick, rounding up).</summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        if (!text.EndsWith('s')
            || !decimal.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var seconds))
        {
            return false;
        }

        duration = TimeSpan.FromTicks((long)decimal.Ceiling(seconds * TimeSpan.TicksPerSecond));
        return true;
    }
}
