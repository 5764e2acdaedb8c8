namespace GenerationWorker.Chaos;

/// <summary>
/// The command line: how many jobs, how long the run may last, the random seed, and whether the silos reach the
/// database through PgBouncer in transaction mode (<c>--pooler</c>: <c>DATABASE_URL</c> pooled, as Neon's
/// <c>-pooler</c> host, and <c>DATABASE_URL_UNPOOLED</c> direct).
/// </summary>
internal sealed record ChaosOptions(int Jobs, TimeSpan Deadline, int Seed, bool Short, bool Pooler = false)
{
    /// <summary>Requests in any window of <see cref="Window"/>: MAX_JOBS_PER_MINUTE of the silos, the emulator's RPM.</summary>
    public int Budget => Short ? 60 : 120;

    /// <summary>QUOTA_WINDOW_SECONDS of the silos and the emulator's window.</summary>
    public TimeSpan Window => TimeSpan.FromSeconds(10);

    public static bool TryParse(string[] args, out ChaosOptions options, out string error)
    {
        var isShort = args.Contains("--short");
        var pooler = args.Contains("--pooler");
        var jobs = isShort ? 60 : 300;
        var seed = 7;
        error = "";
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--short" or "--pooler":
                    break;
                case "--jobs" when i + 1 < args.Length && int.TryParse(args[i + 1], out var n) && n > 0:
                    jobs = n;
                    i++;
                    break;
                case "--seed" when i + 1 < args.Length && int.TryParse(args[i + 1], out var s):
                    seed = s;
                    i++;
                    break;
                default:
                    error = $"unknown or incomplete argument '{args[i]}'";
                    options = new ChaosOptions(0, TimeSpan.Zero, 0, false);
                    return false;
            }
        }

        options = new ChaosOptions(jobs, isShort ? TimeSpan.FromMinutes(2.5) : TimeSpan.FromMinutes(10), seed, isShort, pooler);
        return true;
    }
}
