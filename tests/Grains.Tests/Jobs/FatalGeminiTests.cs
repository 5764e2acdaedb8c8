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
        using var health = await Eventually.ValueAsync(
            () => http.GetAsync("health"), response => response.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(20),
            "/health reports the bad key", describe: response => response.StatusCode.ToString());

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
            GenerationWorker.Grains.SiloIdentity.Of(fixture.Silo.Services.GetRequiredService<Orleans.Runtime.ILocalSiloDetails>().SiloAddress)).GetStatusAsync()).Claiming);
    }
}

/// <summary>
/// Gemini's 400 FAILED_PRECONDITION (a project that may not use a model): for a model only a job's override names, that
/// job fails and the service runs on; for a model the operator configured, the service stops, as for a bad key.
/// </summary>
public sealed class OverrideRefusalTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    private const string Refused = "gemini-3.1-flash-image";

    [Fact]
    public async Task ARefusedModelOverride_FailsThatJobOnce_AndTheNextJobCompletesOnTheSameSilo()
    {
        var refused = await fixture.Jobs.InsertAsync("image_generation", new
        {
            prompt = $"job-o1 a vase [emulate:precondition@{Refused}]",
            modelOverrides = new { imageModel = Refused },
        });

        var job = await fixture.Jobs.WaitFinalAsync(refused, TimeSpan.FromSeconds(30));

        Assert.Equal(("failed", 1), (job.Status, job.Attempts));
        Assert.Equal(
            $"Gemini refused model '{Refused}', named by the job's model override (HTTP 400): User location is not supported for the API use.",
            job.Error);
        Assert.Equal(400, Assert.Single(fixture.Gemini.ReceivedRequests("job-o1")).Status);

        var next = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "job-o2 a vase, no override" });
        Assert.Equal("completed", (await fixture.Jobs.WaitFinalAsync(next, TimeSpan.FromSeconds(30))).Status);
        Assert.Null(fixture.Silo.Health.Fatal);
        using var http = new HttpClient { BaseAddress = fixture.Silo.HttpBase };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("health")).StatusCode);
    }
}

/// <summary>The same FAILED_PRECONDITION for <c>GEMINI_MODEL</c>: no job can run, so the service stops claiming.</summary>
public sealed class ConfiguredModelRefusalTests(PipelineFixture fixture) : IClassFixture<PipelineFixture>
{
    [Fact]
    public async Task FailedPreconditionForTheConfiguredModel_StopsClaiming_ShowsInHealth_AndFailsNoJob()
    {
        var id = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "job-c1 a vase [emulate:precondition]" });

        using var http = new HttpClient { BaseAddress = fixture.Silo.HttpBase };
        using var health = await Eventually.ValueAsync(
            () => http.GetAsync("health"), response => response.StatusCode == HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(30),
            "/health reports the refusal", describe: response => response.StatusCode.ToString());

        Assert.Contains("User location is not supported", await health.Content.ReadAsStringAsync());
        var job = await fixture.Jobs.WaitForAsync(id, j => j.Status != "processing", TimeSpan.FromSeconds(30));
        Assert.Equal(("pending", 0), (job.Status, job.Attempts));
    }
}
