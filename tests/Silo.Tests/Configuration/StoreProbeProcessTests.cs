using System.Net;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Silo.Tests.Configuration;

/// <summary>A silo process with a database and an S3 server that the test can stop and start again.</summary>
public sealed class StoreProbeFixture : SiloProcessFixture
{
    /// <summary>The S3 server the silos store images in.</summary>
    public S3ServerFixture S3 { get; } = new();

    /// <summary>The variables of a silo storing in <see cref="S3"/>, with <paramref name="overrides"/> applied.</summary>
    public Dictionary<string, string?> R2Environment(IReadOnlyDictionary<string, string?>? overrides = null)
    {
        var env = Environment(new Dictionary<string, string?>
        {
            ["STORAGE"] = "r2",
            ["R2_ENDPOINT"] = S3.Endpoint.ToString(),
            ["R2_ACCESS_KEY_ID"] = S3ServerFixture.AccessKeyId,
            ["R2_SECRET_ACCESS_KEY"] = S3ServerFixture.SecretAccessKey,
            ["R2_BUCKET"] = S3.Bucket,
            ["R2_PUBLIC_URL"] = S3ServerFixture.PublicBaseUrl,
            ["LOCAL_STORAGE_DIR"] = null,
        });
        foreach (var (name, value) in overrides ?? new Dictionary<string, string?>())
        {
            env[name] = value;
        }

        return env;
    }

    /// <inheritdoc />
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await S3.InitializeAsync();
    }

    /// <inheritdoc />
    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await S3.DisposeAsync();
    }
}

/// <summary>The start-up probe of the image store, on the real executable.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class StoreProbeProcessTests(StoreProbeFixture fixture) : IClassFixture<StoreProbeFixture>
{
    [Theory]
    [InlineData("R2_BUCKET", "no-such-bucket", "R2_BUCKET is refused by the image store")]
    [InlineData("R2_SECRET_ACCESS_KEY", "wrong-secret-0c1d", "R2_ACCESS_KEY_ID is refused by the image store")]
    public async Task AStoreThatRefuses_StopsTheStartWithCode2_NamingTheVariable(string name, string value, string expected)
    {
        var env = fixture.R2Environment(new Dictionary<string, string?> { [name] = value });

        var run = await SiloProcess.RunToExitAsync([], env, TimeSpan.FromSeconds(60));

        Assert.True(run.ExitCode == 2, run.ToString());
        Assert.Contains("\n  " + expected, run.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-0c1d", run.StandardError + run.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnreachableStore_Answers503NamingIt_ClaimsNothing_And200OnceItIsUp()
    {
        await fixture.S3.StopAsync();
        try
        {
            var silo = fixture.Launch(fixture.R2Environment());
            string body = "";
            await Eventually.UntilAsync(
                async () =>
                {
                    try
                    {
                        using var response = await silo.Http.GetAsync("health");
                        body = await response.Content.ReadAsStringAsync();
                        return response.StatusCode == HttpStatusCode.ServiceUnavailable && body.Contains("image store unreachable", StringComparison.Ordinal);
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                },
                TimeSpan.FromSeconds(90),
                "/health says the store is unreachable",
                lastObserved: () => silo.Describe("/health never said the store is unreachable; last: " + body));
            var job = await fixture.Jobs.InsertAsync("image_generation", new { prompt = "waits for the store" });
            // Claiming nothing is an absence: watched for 3 s, the job never leaves pending.
            await Assert.ThrowsAsync<TimeoutException>(
                () => fixture.Jobs.WaitForAsync(job, j => j.Status != "pending", TimeSpan.FromSeconds(3)));

            await fixture.S3.RestartAsync();

            await silo.WaitHealthyAsync(TimeSpan.FromSeconds(60));
            Assert.Equal("completed", (await fixture.Jobs.WaitFinalAsync(job)).Status);
        }
        finally
        {
            await fixture.S3.RestartAsync();
        }
    }
}
