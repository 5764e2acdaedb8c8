using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GenerationWorker.Grains.Tests.Storage;

/// <summary>A logger that keeps every formatted message (and exception text) it is given.</summary>
internal sealed class RecordingLogger<T> : ILogger<T>
{
    public ConcurrentQueue<string> Entries { get; } = new();

    public string AllText => string.Join('\n', Entries);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue($"{logLevel}: {formatter(state, exception)} {exception}");
}
