namespace GenerationWorker.Grains.Quota;

/// <summary>
/// The permit of one Gemini request: call <see cref="Written"/> once its body is written to the connection; disposing
/// it unwritten (the request was never sent) gives it back to the silo's pool.
/// </summary>
public sealed class RequestPermit : IDisposable
{
    private readonly SiloBudget? _budget;
    private readonly Permit? _permit;

    /// <summary>A permit of <paramref name="budget"/>.</summary>
    public RequestPermit(SiloBudget budget, Permit permit)
    {
        _budget = budget;
        _permit = permit;
    }

    private RequestPermit()
    {
    }

    /// <summary>The permit when no budget is kept: nothing to record.</summary>
    public static RequestPermit Unlimited { get; } = new();

    /// <summary>Records that the request was written just now (its slot frees one window from now).</summary>
    public void Written()
    {
        if (_permit is not null)
        {
            _budget!.Written(_permit);
        }
    }

    /// <summary>Records what the request cost once answered (billed, or possibly billed), for the spend caps.</summary>
    public void Priced(long micros)
    {
        if (_permit is not null)
        {
            _budget!.Priced(_permit, micros);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_permit is not null)
        {
            _budget!.Unused(_permit);
        }
    }
}
