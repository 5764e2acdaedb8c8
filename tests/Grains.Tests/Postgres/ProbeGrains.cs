namespace GenerationWorker.Grains.Tests.Postgres;

/// <summary>A grain whose only job is to keep a small state in the ADO.NET grain storage under test.</summary>
[Alias("GenerationWorker.Grains.Tests.Postgres.IProbeStateGrain")]
public interface IProbeStateGrain : IGrainWithStringKey
{
    [Alias("Read")]
    Task<string?> ReadAsync();

    [Alias("Write")]
    Task<string?> WriteAsync(string text);

    [Alias("Clear")]
    Task<string?> ClearAsync();

    [Alias("RecordExists")]
    Task<bool> RecordExistsAsync();

    [Alias("Deactivate")]
    Task DeactivateAsync();
}

/// <summary>
/// The probe grain's persisted state. The storage provider writes it as JSON with its type name, and Orleans only reads
/// back types on its allow-list, which [GenerateSerializer] puts it on.
/// </summary>
[GenerateSerializer, Alias("GenerationWorker.Grains.Tests.Postgres.ProbeState")]
public sealed class ProbeState
{
    [Id(0)]
    public string Text { get; set; } = "";
}

public sealed class ProbeStateGrain([PersistentState("probe", "Default")] IPersistentState<ProbeState> state) : Grain, IProbeStateGrain
{
    public Task<string?> ReadAsync() => Task.FromResult<string?>(state.RecordExists ? state.State.Text : null);

    public async Task<string?> WriteAsync(string text)
    {
        state.State.Text = text;
        await state.WriteStateAsync();
        return state.Etag;
    }

    public async Task<string?> ClearAsync()
    {
        await state.ClearStateAsync();
        return state.Etag;
    }

    public Task<bool> RecordExistsAsync() => Task.FromResult(state.RecordExists);

    public Task DeactivateAsync()
    {
        DeactivateOnIdle();
        return Task.CompletedTask;
    }
}
