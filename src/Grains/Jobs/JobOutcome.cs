namespace GenerationWorker.Grains.Jobs;

/// <summary>How a job attempt ended.</summary>
public enum JobOutcome
{
    /// <summary>Every variant stored; the job is completed.</summary>
    Completed,

    /// <summary>The job failed for good.</summary>
    Failed,

    /// <summary>The job went back to pending to be tried again, spending the attempt.</summary>
    Retried,

    /// <summary>The job went back to pending without spending the attempt (shutdown, 429 pause, stopped service).</summary>
    Released,

    /// <summary>The attempt stopped: the job was cancelled or its lease lost.</summary>
    Cancelled,
}
