using GenerationWorker.Grains.Cost;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Jobs;
using GenerationWorker.Grains.Telemetry;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Images;

/// <summary>When a failed answer of the first model is worth a request to the fallback model.</summary>
public enum FallbackOn
{
    /// <summary>Only when the model does not exist (404): a generation's rule.</summary>
    ModelNotFound,

    /// <summary>On any error or an answer without an image, but a 429 or a refusal of the service: an edit's rule.</summary>
    AnyFailure,
}

/// <summary>
/// Sends one image request to Gemini for a job, within the silo's gate and the budget's permit for each request, and
/// calls the route's fallback model when the first answer allows it. Each request is recorded in the cost ledger.
/// </summary>
public sealed partial class ImageCalls(IGeminiClient gemini, GeminiGate gate, CostLedger costs, WorkerTelemetry telemetry, ILogger<ImageCalls> logger)
{
    /// <summary>
    /// Asks for one image. Returns Gemini's last answer, or null when the budget refused a permit (paused by a 429):
    /// then nothing was sent.
    /// </summary>
    /// <param name="run">The claim, for the budget's permits and the fallback's record.</param>
    /// <param name="route">The models to call and the job's size.</param>
    /// <param name="parts">The request's parts.</param>
    /// <param name="aspectRatio">The aspect ratio to ask for, or null.</param>
    /// <param name="fallbackOn">When the fallback is called.</param>
    /// <param name="variant">The variant, for logs and spans.</param>
    /// <param name="cancellationToken">Stops the call.</param>
    public async Task<GeminiOutcome?> GenerateAsync(
        IJobRun run, ModelRoute route, IReadOnlyList<GeminiPart> parts, string? aspectRatio, FallbackOn fallbackOn, int variant,
        CancellationToken cancellationToken)
    {
        var model = route.Model;
        while (true)
        {
            var size = route.SizeFor(model);
            GeminiOutcome outcome;
            using (await gate.EnterAsync(GeminiGate.ExpectedBytes(size, GeminiImageRequest.InputBytesOf(parts)), cancellationToken))
            {
                using var permit = await run.TakeRequestPermitAsync(model, cancellationToken);
                if (permit is null)
                {
                    return null;
                }

                var request = new GeminiImageRequest(model, parts, aspectRatio, size) { Written = permit.Written };
                using var call = telemetry.StartGeminiCall(model, variant);
                outcome = await costs.ImageRequestAsync(
                    run.Job, request, variant, ct => gemini.GenerateImageAsync(request, ct), cancellationToken, permit.Priced);
                call.Finish(outcome.GetType().Name);
            }

            LogGemini(logger, run.Job.JobId, run.Job.Attempt, variant, model, outcome.GetType().Name);
            if (outcome is GeminiOutcome.Throttled throttled)
            {
                // Pause the cluster now, not once the job's slower variants have come back.
                await run.ReportThrottledAsync(model, throttled);
            }

            if (route.Fallback is not { } fallback || model == fallback || !Warrants(outcome, fallbackOn))
            {
                return outcome;
            }

            (outcome as IDisposable)?.Dispose();
            LogFallback(logger, run.Job.JobId, run.Job.Attempt, variant, model, fallback, outcome.GetType().Name);
            await run.FallbackCalledAsync(fallback, cancellationToken);
            model = fallback;
        }
    }

    private static bool Warrants(GeminiOutcome outcome, FallbackOn fallbackOn) => outcome switch
    {
        GeminiOutcome.ModelNotFound => true,
        GeminiOutcome.Image or GeminiOutcome.Throttled or GeminiOutcome.Fatal => false,
        _ => fallbackOn == FallbackOn.AnyFailure,
    };
}
