using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Postgres;

/// <summary>
/// Writes the silo's job completions: one at a time while they come one at a time, and those that arrive while a write
/// is under way together in the next statement. Each caller learns whether its own claim was completed.
/// </summary>
/// <remarks>
/// No completion waits for company: a lone one is written at once, as <see cref="JobStore.CompleteAsync"/> would.
/// When a statement for several fails (a connection cut, a deadlock with a rescue of many rows), each completion of it
/// is written again on its own, so that one bad moment does not leave them all to their leases' expiry.
/// A completion that writes the app's asset rows has a transaction of its own (<see cref="AppAssetStore.CompleteAsync"/>).
/// </remarks>
public sealed partial class JobCompletions : IAsyncDisposable
{
    /// <summary>The most completions one statement writes.</summary>
    public const int MaxBatch = 256;

    private readonly JobStore _jobs;
    private readonly AppAssetStore? _assets;
    private readonly ILogger<JobCompletions> _logger;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Task _writer;

    /// <summary>Starts the writer.</summary>
    /// <param name="jobs">The job table.</param>
    /// <param name="logger">Where failed batches and skipped product links are logged.</param>
    /// <param name="assets">The app's asset tables, for completions that carry assets.</param>
    public JobCompletions(JobStore jobs, ILogger<JobCompletions> logger, AppAssetStore? assets = null)
    {
        _jobs = jobs;
        _assets = assets;
        _logger = logger;
        _writer = Task.Run(WriteAllAsync);
    }

    /// <summary>Completes a claim with its result, recording <paramref name="last"/> with it; false when the lease is lost.</summary>
    /// <remarks>When <paramref name="cancellationToken"/> fires the caller stops waiting; the write may still land.</remarks>
    public Task<bool> CompleteAsync(
        string id, Guid leaseToken, string resultJson, UnrecordedOutput? last, CancellationToken cancellationToken) =>
        CompleteAsync(new JobCompletion(id, leaseToken, resultJson, last), cancellationToken);

    /// <summary>
    /// Completes a claim; false when the lease is lost, and then nothing is written. A completion with assets writes them
    /// in the same transaction.
    /// </summary>
    /// <remarks>When <paramref name="cancellationToken"/> fires the caller stops waiting; the write may still land.</remarks>
    public Task<bool> CompleteAsync(JobCompletion completion, CancellationToken cancellationToken)
    {
        if (completion.Assets is not null)
        {
            return CompleteWithAssetsAsync(completion, cancellationToken);
        }

        var pending = new Pending(completion);
        return _queue.Writer.TryWrite(pending)
            ? pending.Done.Task.WaitAsync(cancellationToken)
            : _jobs.CompleteAsync(completion.Id, completion.LeaseToken, completion.ResultJson, completion.Last, cancellationToken);
    }

    private async Task<bool> CompleteWithAssetsAsync(JobCompletion completion, CancellationToken cancellationToken)
    {
        var assets = _assets ?? throw new InvalidOperationException("No asset store was given for completions with assets.");
        if (await assets.CompleteAsync(completion, cancellationToken) is not { } written)
        {
            return false;
        }

        if (written.MissingProducts.Count > 0)
        {
            LogProductsMissing(_logger, completion.Id, written.MissingProducts.Count, string.Join(", ", written.MissingProducts.Take(10)));
        }

        if (written.CollectionId is { } collection)
        {
            LogCollectionCompleted(_logger, completion.Id, collection);
        }

        return true;
    }

    /// <summary>Writes what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writer;
    }

    private async Task WriteAllAsync()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var pending))
            {
                batch.Add(pending);
            }

            if (batch.Count == 1)
            {
                await WriteOneAsync(batch[0]);
            }
            else
            {
                await WriteManyAsync(batch);
            }

            batch.Clear();
        }
    }

    private async Task WriteManyAsync(List<Pending> batch)
    {
        try
        {
            var completed = await _jobs.CompleteManyAsync([.. batch.Select(p => p.Completion)], CancellationToken.None);
            foreach (var pending in batch)
            {
                pending.Done.TrySetResult(completed.Contains((pending.Completion.Id, pending.Completion.LeaseToken)));
            }
        }
        catch (Exception exception)
        {
            LogBatchFailed(_logger, batch.Count, exception);
            foreach (var pending in batch)
            {
                await WriteOneAsync(pending);
            }
        }
    }

    private async Task WriteOneAsync(Pending pending)
    {
        var completion = pending.Completion;
        try
        {
            pending.Done.TrySetResult(await _jobs.CompleteAsync(
                completion.Id, completion.LeaseToken, completion.ResultJson, completion.Last, CancellationToken.None));
        }
        catch (Exception exception)
        {
            pending.Done.TrySetException(exception);
        }
    }

    private sealed record Pending(JobCompletion Completion)
    {
        public TaskCompletionSource<bool> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
