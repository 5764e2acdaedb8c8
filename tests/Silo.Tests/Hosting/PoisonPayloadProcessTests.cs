using GenerationWorker.TestSupport;
using Xunit.Abstractions;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>A silo process and a server of 5 MB reference images.</summary>
public sealed class PoisonPayloadFixture : SiloProcessFixture
{
    public ReferenceImageServer References { get; } = new();

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await References.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await References.DisposeAsync();
    }
}

/// <summary>Jobs naming many large reference images cost a silo a bounded amount of memory (read from /proc).</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class PoisonPayloadProcessTests(PoisonPayloadFixture fixture, ITestOutputHelper output) : IClassFixture<PoisonPayloadFixture>
{
    private const long Mb = 1 << 20;

    [Fact]
    public async Task JobsNamingManyLargeReferences_FailInOneAttempt_AndRaiseTheSilosMemoryByLessThan200MB()
    {
        var silo = await fixture.StartSiloAsync();
        var before = Rss(silo.Id);
        string Refs(int count, string tag) => string.Join(",", Enumerable.Range(0, count).Select(i => $"\"{fixture.References.Url($"five-mb/{tag}-{i}")}\""));

        // 300 references (refused when read), and the most a job may name, 16, which pass the 20 MB total at the fifth.
        var poison = await fixture.Jobs.InsertAsync("image_generation", $$"""{"prompt":"poison","productImageUrls":[{{Refs(300, "poison")}}]}""");
        var sixteen = await fixture.Jobs.InsertAsync("image_generation", $$"""{"prompt":"sixteen","productImageUrls":[{{Refs(16, "sixteen")}}]}""");
        var results = await fixture.Jobs.WaitAllFinalAsync([poison, sixteen], TimeSpan.FromSeconds(60));

        var after = Rss(silo.Id);
        output.WriteLine($"RSS before {before.Rss / Mb} MB (peak {before.Peak / Mb} MB), after {after.Rss / Mb} MB (peak {after.Peak / Mb} MB): rise {(after.Rss - before.Rss) / Mb} MB, peak rise {(after.Peak - before.Peak) / Mb} MB");
        Assert.All(results, job => Assert.Equal(("failed", 1), (job.Status, job.Attempts)));
        Assert.Contains("the job names 300 reference images; at most 16 are accepted", results[0].Error, StringComparison.Ordinal);
        Assert.Contains("reference images exceed 20 MB in total", results[1].Error, StringComparison.Ordinal);
        Assert.True(after.Peak - before.Rss < 200 * Mb, $"the silo's peak RSS rose by {(after.Peak - before.Rss) / Mb} MB");
    }

    /// <summary>The process's resident memory now and at its peak (VmRSS, VmHWM), in bytes.</summary>
    private static (long Rss, long Peak) Rss(int pid)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/status");
        long Field(string name) => long.Parse(lines.Single(l => l.StartsWith(name, StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
        return (Field("VmRSS:"), Field("VmHWM:"));
    }
}
