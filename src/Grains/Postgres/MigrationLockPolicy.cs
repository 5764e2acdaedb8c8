namespace GenerationWorker.Grains.Postgres;

/// <summary>
/// How long a migration waits for a lock on a table (the app's live <c>generation_job</c> above all) and how often it
/// tries again: the one retry schedule of <see cref="SchemaMigrator"/>.
/// </summary>
/// <remarks>
/// A migration waiting for a lock puts every later query on that table in the queue behind it (an <c>ALTER TABLE</c>
/// waiting for ACCESS EXCLUSIVE behind one long transaction stops all of the app's reads and writes). With
/// <c>lock_timeout</c> the wait is short: the migration gives up, lets the queue drain, and tries again later.
/// </remarks>
/// <param name="LockTimeout">The <c>lock_timeout</c> of every migration; default 5 s.</param>
/// <param name="Attempts">How many times a migration is tried before the run fails; default 5.</param>
/// <param name="FirstBackoff">The pause after the first lock timeout, doubled after each further one; default 1 s.</param>
public sealed record MigrationLockPolicy(TimeSpan LockTimeout, int Attempts, TimeSpan FirstBackoff)
{
    /// <summary>5 s lock timeout, 5 attempts, pauses of 1, 2, 4 and 8 s: a migration gives up after about 40 s.</summary>
    public static MigrationLockPolicy Default { get; } = new(TimeSpan.FromSeconds(5), 5, TimeSpan.FromSeconds(1));

    /// <summary>The pause after the failed attempt number <paramref name="attempt"/> (1-based).</summary>
    public TimeSpan BackoffAfter(int attempt) => FirstBackoff * Math.Pow(2, attempt - 1);
}

/// <summary>A migration did not get the locks it needs within every attempt of its <see cref="MigrationLockPolicy"/>.</summary>
/// <param name="message">Names the migration and what to look for.</param>
/// <param name="innerException">The last lock timeout.</param>
public sealed class MigrationLockTimeoutException(string message, Exception innerException) : Exception(message, innerException);
