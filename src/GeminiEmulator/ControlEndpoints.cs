using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace GenerationWorker.GeminiEmulator;

/// <summary>
/// The control API, for tests and benchmarks in another process: <c>GET /_emulator/stats</c>,
/// <c>GET /_emulator/requests?prompt=&amp;model=</c>, <c>GET /_emulator/video</c>, <c>GET|POST /_emulator/faults</c>,
/// <c>POST /_emulator/faults/next</c> and <c>POST /_emulator/reset</c>.
/// </summary>
internal static class ControlEndpoints
{
    /// <summary>Maps the control API.</summary>
    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet("/_emulator/stats", context =>
        {
            var stats = context.RequestServices.GetRequiredService<EmulatorStats>();
            return WriteAsync(context, stats.Snapshot(), EmulatorJsonContext.Default.EmulatorStatsSnapshot);
        });

        endpoints.MapGet("/_emulator/requests", context =>
        {
            var stats = context.RequestServices.GetRequiredService<EmulatorStats>();
            string? model = context.Request.Query["model"];
            var entries = stats.RequestsFor(context.Request.Query["prompt"].ToString(), string.IsNullOrEmpty(model) ? null : model);
            return WriteAsync(context, entries.ToArray(), EmulatorJsonContext.Default.RequestLogEntryArray);
        });

        endpoints.MapGet("/_emulator/video", context =>
        {
            var stats = context.RequestServices.GetRequiredService<EmulatorStats>();
            return WriteAsync(context, stats.Video, EmulatorJsonContext.Default.VideoStatsSnapshot);
        });

        endpoints.MapGet("/_emulator/faults", context => WriteFaultsAsync(context));

        endpoints.MapPost("/_emulator/faults", async context =>
        {
            var faults = context.RequestServices.GetRequiredService<EmulatorFaults>();
            var settings = await ReadAsync(context, EmulatorJsonContext.Default.FaultSettings);
            var error = settings is null ? "the body is not fault settings JSON" : EmulatorFaults.Check(settings);
            if (error is not null)
            {
                await ApiError.InvalidArgument("Invalid fault settings: " + error).WriteAsync(context.Response, context.RequestAborted);
                return;
            }

            faults.Configure(settings!);
            await WriteFaultsAsync(context);
        });

        endpoints.MapPost("/_emulator/faults/next", async context =>
        {
            var faults = context.RequestServices.GetRequiredService<EmulatorFaults>();
            var steps = await ReadAsync(context, EmulatorJsonContext.Default.ScriptedFaultArray);
            try
            {
                faults.Enqueue(steps ?? throw new ArgumentException("body is not a list of scripted faults"));
            }
            catch (ArgumentException e)
            {
                await ApiError.InvalidArgument("Invalid scripted faults: " + e.Message).WriteAsync(context.Response, context.RequestAborted);
                return;
            }

            await WriteFaultsAsync(context);
        });

        endpoints.MapPost("/_emulator/reset", context =>
        {
            context.RequestServices.GetRequiredService<EmulatorStats>().Reset();
            context.RequestServices.GetRequiredService<QuotaLimiter>().Reset();
            context.RequestServices.GetRequiredService<EmulatorFaults>().Reset();
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return Task.CompletedTask;
        });
    }

    private static Task WriteFaultsAsync(HttpContext context)
    {
        var faults = context.RequestServices.GetRequiredService<EmulatorFaults>();
        return WriteAsync(context, new FaultsState(faults.Settings, faults.PendingScripted), EmulatorJsonContext.Default.FaultsState);
    }

    private static async Task<T?> ReadAsync<T>(HttpContext context, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        try
        {
            return await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted);
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static Task WriteAsync<T>(HttpContext context, T value, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type)
    {
        context.Response.ContentType = "application/json; charset=UTF-8";
        return JsonSerializer.SerializeAsync(context.Response.Body, value, type, context.RequestAborted);
    }
}
