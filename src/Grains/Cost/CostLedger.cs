using System.Collections.Concurrent;
using System.Data.Common;
using GenerationWorker.Grains.Gemini;
using GenerationWorker.Grains.Telemetry;
using GenerationWorker.Interfaces;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace GenerationWorker.Grains.Cost;

/// <summary>
/// Records what every Gemini request costs, crash-safe: an intent row before the request (with its expected price),
/// the answer after it (billed or not, its usage, its duration). The one owner of <c>gemini_cost_ledger</c>.
/// </summary>
/// <remarks>
/// <para>What is billed: an HTTP 200 (its image, or its tokens when it has none: a refusal or a block still costs its
/// input). 4xx, 5xx and 429 answers are not. A request whose answer never came (a timeout, a cut connection, a process
/// killed mid-call) is possibly billed, at its full expected price. A Veo start is billed when its operation ends with
/// a video (<see cref="VeoSeconds"/> times the model's price), not when it fails.</para>
/// <para>None of these writes is fenced by the job's lease: a fenced-out or dying worker's spend is still real money.
/// An intent left open by a dead silo is settled by <see cref="SettleOwnersAsync"/> from the dead-silo rescue.</para>
/// </remarks>
public sealed partial class CostLedger(
    CostStore store, IOptions<GeminiOptions> options, ILocalSiloDetails silo, TimeProvider time, WorkerTelemetry telemetry, ILogger<CostLedger> logger)
{
    /// <summary>The seconds of video a Veo start makes: the model's default duration (the service asks for no other).</summary>
    public const int VeoSeconds = 8;

    private readonly ConcurrentDictionary<string, bool> _unpricedWarned = new(StringComparer.Ordinal);

    /// <summary>The full price of an image request: its output image at its size and each input image.</summary>
    public long ExpectedMicros(GeminiImageRequest request) =>
        Price(request.Model).ImageRequestMicros(request.ImageSize, request.Parts.Count(part => part is GeminiPart.Image));

    /// <summary>The full price of a Veo start of <paramref name="model"/>: <see cref="VeoSeconds"/> of video.</summary>
    public long ExpectedVideoMicros(string model) => Price(model).VideoMicros(VeoSeconds);

    /// <summary>
    /// Sends one image request through <paramref name="send"/> between its intent and its answer in the ledger.
    /// </summary>
    /// <param name="job">The claim the request is for.</param>
    /// <param name="request">The request (its model, size and input images price it).</param>
    /// <param name="variant">The variant, for the ledger's call.</param>
    /// <param name="send">Sends the request.</param>
    /// <param name="cancellationToken">Stops the intent's write and the request.</param>
    /// <param name="charged">Told what the request is charged once answered (0 when not billed), for the spend caps.</param>
    /// <exception cref="DbException">The intent could not be recorded: nothing was sent.</exception>
    public async Task<GeminiOutcome> ImageRequestAsync(
        JobAssignment job, GeminiImageRequest request, int variant, Func<CancellationToken, Task<GeminiOutcome>> send,
        CancellationToken cancellationToken, Action<long>? charged = null)
    {
        var expected = ExpectedMicros(request);
        var operationType = job.Type == "image_edit" ? "image_edit" : "image_generation";
        var requestId = await OpenAsync(job, "variant " + variant, operationType, request.Model, expected, cancellationToken);
        var started = time.GetTimestamp();
        GeminiOutcome outcome;
        try
        {
            outcome = await send(cancellationToken);
        }
        catch (Exception exception)
        {
            // Stopped mid-call: the request may have reached Gemini, which bills it whether or not we read the answer.
            charged?.Invoke(expected);
            await FinalizeAsync(requestId, new CostAnswer(
                Billing.PossiblyBilled, expected, null, null, null, "stopped before the answer (" + exception.GetType().Name + ")",
                time.GetElapsedTime(started)));
            throw;
        }

        var answer = Answer(outcome, request, expected, time.GetElapsedTime(started));
        charged?.Invoke(answer.Billing == Billing.NotBilled ? 0 : answer.CostMicros ?? expected);
        await FinalizeAsync(requestId, answer);
        return outcome;
    }

    /// <summary>Records a Veo start about to be sent; returns its request id.</summary>
    public Task<Guid> VideoStartingAsync(JobAssignment job, string model, CancellationToken cancellationToken) =>
        OpenAsync(job, "video start", "video_generation", model, ExpectedVideoMicros(model), cancellationToken);

    /// <summary>Records that a request whose intent was written was not sent after all: not billed.</summary>
    public Task NotSentAsync(Guid requestId, string reason) =>
        FinalizeAsync(requestId, new CostAnswer(Billing.NotBilled, 0, null, null, null, reason, TimeSpan.Zero));

    /// <summary>Records a Veo start's answer: awaiting its video, possibly billed (no answer), or not billed.</summary>
    public Task VideoStartAnsweredAsync(Guid requestId, string model, VeoStart start, TimeSpan duration)
    {
        var answer = start switch
        {
            VeoStart.Started started => new CostAnswer(Billing.AwaitingVideo, null, null, null, 200, null, duration, started.OperationName),
            VeoStart.Unknown unknown => new CostAnswer(Billing.PossiblyBilled, ExpectedVideoMicros(model), null, null, null, unknown.Message, duration),
            VeoStart.Refused refused => new CostAnswer(Billing.NotBilled, 0, null, null, StatusOf(refused.Outcome), refused.Outcome.GetType().Name, duration),
            _ => throw new ArgumentOutOfRangeException(nameof(start), start.GetType().Name),
        };
        return FinalizeAsync(requestId, answer);
    }

    /// <summary>
    /// Settles the start of the job's Veo operation once it ended: billed when it made a video, not billed when it
    /// failed, possibly billed when the job gave up on it. Only the first end counts.
    /// </summary>
    public async Task VideoEndedAsync(string jobId, string operationName, Billing billing, string? error)
    {
        try
        {
            Settled(await store.VideoEndedAsync(jobId, operationName, billing, VeoSeconds, error, CancellationToken.None));
        }
        catch (Exception exception) when (exception is DbException or TimeoutException)
        {
            LogVideoSettleFailed(logger, operationName, jobId, exception);
        }
    }

    /// <summary>Settles every request the given (dead) silos left open as possibly billed; returns how many.</summary>
    public async Task<int> SettleOwnersAsync(IReadOnlyCollection<string> owners, CancellationToken cancellationToken)
    {
        var settled = await store.SettleOwnersAsync(owners, cancellationToken);
        Settled(settled);
        return settled.Count;
    }

    private async Task<Guid> OpenAsync(
        JobAssignment job, string call, string operationType, string model, long expected, CancellationToken cancellationToken)
    {
        var requestId = Guid.CreateVersion7(time.GetUtcNow());
        await store.OpenAsync(
            new CostIntent(requestId, job.JobId, job.ClientId, job.Attempt, call, operationType, model, SiloIdentity.Of(silo.SiloAddress), expected),
            cancellationToken);
        return requestId;
    }

    /// <summary>Records an answer whatever stops the caller; a failure leaves the intent open (and logged).</summary>
    private async Task FinalizeAsync(Guid requestId, CostAnswer answer)
    {
        try
        {
            Settled(await store.FinalizeAsync(requestId, answer, CancellationToken.None));
        }
        catch (Exception exception) when (exception is DbException or TimeoutException)
        {
            LogFinalizeFailed(logger, requestId.ToString(), exception);
        }
    }

    private void Settled(IReadOnlyList<SettledCost> settled)
    {
        foreach (var cost in settled)
        {
            if (cost.Billing is Billing.Billed or Billing.PossiblyBilled)
            {
                telemetry.Cost(cost.Model, cost.ClientId, CostStore.StateOf(cost.Billing), cost.CostMicros);
            }

            if (cost.Billing == Billing.PossiblyBilled)
            {
                LogPossiblyBilled(logger, cost.RequestId, cost.JobId, cost.Model, PriceTable.Dollars(cost.CostMicros));
            }
        }
    }

    /// <summary>What an image request's outcome costs.</summary>
    private CostAnswer Answer(GeminiOutcome outcome, GeminiImageRequest request, long expected, TimeSpan duration) => outcome switch
    {
        GeminiOutcome.Image image => new CostAnswer(Billing.Billed, expected, image.Usage, 1, 200, null, duration),
        GeminiOutcome.Blocked blocked => new CostAnswer(
            Billing.Billed, Price(request.Model).TokensMicros(blocked.Usage), blocked.Usage, 0, 200, "no image: " + blocked.Reason, duration),
        GeminiOutcome.Retryable { StatusCode: 0 } retryable => new CostAnswer(
            Billing.PossiblyBilled, expected, null, null, null, retryable.Message, duration),
        GeminiOutcome.Retryable { StatusCode: >= 200 and < 300 } retryable => new CostAnswer(
            Billing.Billed, expected, null, null, retryable.StatusCode, retryable.Message, duration),
        _ => new CostAnswer(Billing.NotBilled, 0, null, null, StatusOf(outcome), outcome.GetType().Name, duration),
    };

    private static int? StatusOf(GeminiOutcome outcome) => outcome switch
    {
        GeminiOutcome.Retryable retryable => retryable.StatusCode == 0 ? null : retryable.StatusCode,
        GeminiOutcome.Throttled => 429,
        GeminiOutcome.Fatal fatal => fatal.StatusCode,
        GeminiOutcome.ModelNotFound => 404,
        _ => null,
    };

    private ModelPrice Price(string model)
    {
        var price = options.Value.Prices.For(model, out var known);
        if (!known && _unpricedWarned.TryAdd(model, true))
        {
            LogUnpriced(logger, model, PriceTable.DefaultKey);
        }

        return price;
    }
}
