using System.Net;

namespace GenerationWorker.Grains.Gemini;

/// <summary>
/// A request body in one buffer (so the request carries a Content-Length) that says when it has been written to the
/// connection: the moment the budget counts the request from, whatever delayed it before (a busy CPU, a new connection).
/// </summary>
internal sealed class WrittenContent(byte[] body, Action? written) : ByteArrayContent(body)
{
    private int _signalled;

    /// <inheritdoc />
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            await base.SerializeToStreamAsync(stream, context, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Signal();
        }
    }

    /// <inheritdoc />
    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        try
        {
            await base.SerializeToStreamAsync(stream, context).ConfigureAwait(false);
        }
        finally
        {
            Signal();
        }
    }

    /// <inheritdoc />
    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        try
        {
            base.SerializeToStream(stream, context, cancellationToken);
        }
        finally
        {
            Signal();
        }
    }

    private void Signal()
    {
        if (Interlocked.Exchange(ref _signalled, 1) == 0)
        {
            written?.Invoke();
        }
    }
}
