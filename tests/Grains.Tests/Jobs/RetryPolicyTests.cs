using GenerationWorker.Grains.Configuration;
using GenerationWorker.Grains.Jobs;
using Microsoft.Extensions.Options;

namespace GenerationWorker.Grains.Tests.Jobs;

public sealed class RetryPolicyTests
{
    private readonly RetryPolicy _policy = new(Options.Create(new WorkerOptions
    {
        RetryBaseDelay = TimeSpan.FromSeconds(5),
        RetryMaxDelay = TimeSpan.FromSeconds(300),
    }));

    [Fact]
    public void AServerDelay_IsALowerBound()
    {
        Assert.Equal(TimeSpan.FromMinutes(20), _policy.Delay(1, TimeSpan.FromMinutes(20)));
    }

    [Fact]
    public void AServerDelayOfDays_IsCappedAtOneHour()
    {
        Assert.Equal(TimeSpan.FromHours(1), _policy.Delay(1, TimeSpan.FromDays(10)));
    }
}
