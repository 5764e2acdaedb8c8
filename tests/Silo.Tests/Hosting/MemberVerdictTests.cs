using GenerationWorker.Silo.Hosting;

namespace GenerationWorker.Silo.Tests.Hosting;

public sealed class MemberVerdictTests
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);
    private static readonly DateTime Now = new(2026, 1, 1, 12, 0, 0, DateTimeKind.Utc);

    [Fact]
    public void AcceptedPort_IsAlive_HoweverOldItsHeartbeat() =>
        Assert.Equal(MemberVerdict.Alive, MemberVerdict.Judge(PortAnswer.Accepted, Now.AddHours(-1), Now, Period));

    [Fact]
    public void RefusedPort_IsGone_EvenRightAfterAHeartbeat() =>
        Assert.Equal(MemberVerdict.Gone, MemberVerdict.Judge(PortAnswer.Refused, Now.AddSeconds(-1), Now, Period));

    [Fact]
    public void SilentPort_IsGone_OnlyOnceItsHeartbeatIsTwoPeriodsOld()
    {
        Assert.Equal(MemberVerdict.Gone, MemberVerdict.Judge(PortAnswer.None, Now.AddSeconds(-21), Now, Period));
        var late = MemberVerdict.Judge(PortAnswer.None, Now.AddSeconds(-11), Now, Period);
        Assert.False(late.Dead);
        Assert.Equal(Now.AddSeconds(9), late.CheckAgainAt);
    }
}
