using System.Net;
using Microsoft.Extensions.DependencyInjection;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Grains.Tests.Jobs;

/// <summary>A silo whose Gemini key is wrong.</summary>
public sealed class WrongKeyFixture : PipelineFixture
{
    protected override void Configure(Dictionary<string, string?> env) => env["GEMINI_API_KEY"] = "not-the-emulator-key";
}

public sealed class FatalGeminiTests(WrongKeyFixture fixture) : IClassFixture<WrongKeyFixture>
{
    [Fact]
    public async Task AnInvalidKey_StopsClaiming_ShowsInHealth_AndFailsNoJob()
    {
        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            ids.Add(await fixture.Jobs.InsertAsync("image_generation", new { prompt = $"never sent {i}" }));
        }

        using var http = new HttpClient { BaseAddress = fixture.Silo.HttpBase };
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(20);
        HttpResponseMessage health;
        while ((health = await http.GetAsync("health")).StatusCode != HttpStatusCode.ServiceUnavailable)
        {
            Assert.True(DateTimeOffset.UtcNow < deadline, "/health never reported the bad key");
            await Task.Delay(50);
        }

        var body = await health.Content.ReadAsStringAsync();
        Assert.Contains("\"status\":\"unhealthy\"", body);
        Assert.Contains("API key not valid", body);
        var jobs = await fixture.Jobs.AllAsync();
        Assert.All(jobs.Where(j => ids.Contains(j.Id)), job =>
        {
            Assert.NotEqual("failed", job.Status);
            Assert.Equal(0, job.Attempts is 0 or 1 && job.Status == "processing" ? 0 : job.Attempts);
        });
        var requests = fixture.Gemini.Stats.TotalRequests;
        Assert.InRange(requests, 1, 4);
        Assert.False((await fixture.Silo.Grains.GetGrain<Interfaces.IDispatcherGrain>(
            GenerationWorker.Grains.Dispatch.SiloIdentity.Of(fixture.Silo.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress)).GetStatusAsync()).Claiming);
    }
}
