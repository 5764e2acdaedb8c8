namespace GenerationWorker.Silo.Hosting;

/// <summary>
/// Wraps a logger provider so that each of its lines carries the replica's <c>WORKER_ID</c> as a scope
/// (<c>{"WorkerId": "..."}</c> in JSON, <c>=&gt; WorkerId:...</c> in text).
/// </summary>
/// <param name="inner">The provider that writes the lines (the console).</param>
/// <param name="workerId">The replica's display name.</param>
public sealed class WorkerIdLoggerProvider(ILoggerProvider inner, string workerId) : ILoggerProvider, ISupportExternalScope
{
    private readonly WorkerIdScope _scope = new(workerId);

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new ScopedLogger(inner.CreateLogger(categoryName), _scope);

    /// <inheritdoc />
    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => (inner as ISupportExternalScope)?.SetScopeProvider(scopeProvider);

    /// <inheritdoc />
    public void Dispose() => inner.Dispose();

    private sealed class ScopedLogger(ILogger inner, WorkerIdScope scope) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!inner.IsEnabled(logLevel))
            {
                return;
            }

            using (inner.BeginScope(scope))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }

    /// <summary>The scope's one field; its text form is what the text format shows.</summary>
    private sealed class WorkerIdScope(string workerId) : IReadOnlyList<KeyValuePair<string, object?>>
    {
        private readonly KeyValuePair<string, object?> _field = new("WorkerId", workerId);

        public int Count => 1;

        public KeyValuePair<string, object?> this[int index] =>
            index == 0 ? _field : throw new ArgumentOutOfRangeException(nameof(index));

        public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
        {
            yield return _field;
        }

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

        public override string ToString() => $"WorkerId:{_field.Value}";
    }
}
