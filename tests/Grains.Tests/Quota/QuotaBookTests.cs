using GenerationWorker.Grains.Quota;
using GenerationWorker.Interfaces;

namespace GenerationWorker.Grains.Tests.Quota;

/// <summary>
/// The budgets' accounting on a simulated clock: silos lease blocks, take a random time to write each request (a busy
/// CPU), report ages late, and Gemini counts each request when it arrives (written plus a transit within the margin).
/// </summary>
public sealed class QuotaBookTests
{
    private const string Flash = "gemini-2.5-flash-image";
    private const string Pro = "gemini-3-pro-image";
    private static readonly DateTimeOffset Start = new(2026, 12, 7, 20, 0, 0, TimeSpan.Zero); // noon Pacific

    [Theory]
    [InlineData(60, 10, 0)]
    [InlineData(1_500, 10, 1)]
    [InlineData(6_000, 10, 2)]
    [InlineData(60, 60, 3)]
    public void UnderABacklog_NoSlidingWindowEverSeesMoreThanTheBudget_AndAtLeast95PercentIsUsed(int budget, int windowSeconds, int seed)
    {
        var window = TimeSpan.FromSeconds(windowSeconds);
        var options = new QuotaOptions { RequestsPerWindow = budget, Window = window };
        var run = Simulate(options, seed, windows: 6, writeDelayMax: TimeSpan.FromMilliseconds(80), reportEvery: TimeSpan.FromMilliseconds(300));

        Assert.True(run.MostInAnyWindow(window) <= budget, $"{run.MostInAnyWindow(window)} arrivals in one window of {budget}");
        var steady = run.Arrivals.Count(a => a >= Start + window && a < Start + (window * 5)) / 4.0;
        Assert.True(steady >= budget * 0.95, $"only {steady} of {budget} per window used under a backlog");
    }

    [Fact]
    public void ARequestWrittenSecondsAfterItsPermit_StillCountsFromItsWrite_SoNoWindowIsExceeded()
    {
        // The machine is starved: a permit's request is written up to 3 s after the permit was taken.
        var options = new QuotaOptions { RequestsPerWindow = 150, Window = TimeSpan.FromSeconds(10) };
        var run = Simulate(options, seed: 7, windows: 6, writeDelayMax: TimeSpan.FromSeconds(3), reportEvery: TimeSpan.FromMilliseconds(500));

        Assert.True(run.MostInAnyWindow(options.Window) <= 150, $"{run.MostInAnyWindow(options.Window)} arrivals in one window of 150");
    }

    [Fact]
    public void Grants_ArePacedThroughTheWindow_NotSpentAtItsStart()
    {
        var options = new QuotaOptions { RequestsPerWindow = 600, Window = TimeSpan.FromSeconds(10) };
        var run = Simulate(options, seed: 3, windows: 3, writeDelayMax: TimeSpan.FromMilliseconds(20), reportEvery: TimeSpan.FromMilliseconds(200));

        // Burst 10% (60) plus the even rate (60/s): the most in any one second stays near 120, not 600.
        Assert.True(run.MostInAnyWindow(TimeSpan.FromSeconds(1)) <= 125, $"{run.MostInAnyWindow(TimeSpan.FromSeconds(1))} in one second");
        Assert.True(run.Arrivals.Count(a => a < Start + TimeSpan.FromSeconds(1)) <= 125);
    }

    [Fact]
    public void EachModel_HasItsOwnLimits_AndAPauseOfOneLeavesTheOtherRunning()
    {
        var options = new QuotaOptions
        {
            RequestsPerWindow = 60, Window = TimeSpan.FromSeconds(60), BurstPercent = 100,
            ModelBudgets = BudgetSettings.ParseModelBudgets($"{Pro}=10/60s"),
        };
        var book = new QuotaBook(new BudgetState(), options);

        Assert.Equal(10, Ask(book, Start, Pro, 50).Granted);
        Assert.Equal(50, Ask(book, Start, Flash, 50).Granted);
        Assert.Equal(0, Ask(book, Start, Pro, 1).Granted);

        book.Pause(Start, Flash, TimeSpan.FromSeconds(30), perDay: false);
        var paused = Ask(book, Start + TimeSpan.FromSeconds(1), Flash, 1);
        Assert.Equal(0, paused.Granted);
        Assert.StartsWith("paused", paused.Waiting);
        Assert.Equal(TimeSpan.FromSeconds(29), paused.RetryAfter);
        // The Pro permits were never reported used: they count as written at the latest moment they could have been (their
        // use-by plus the longest write), and free one window after that.
        var latest = QuotaBook.LeaseHold + QuotaBook.WriteBound + options.Window + options.SafetyMargin + QuotaBook.Slice;
        Assert.Equal(0, Ask(book, Start + latest - TimeSpan.FromSeconds(1), Pro, 1).Granted);
        Assert.Equal(1, Ask(book, Start + latest, Pro, 1).Granted);
    }

    [Fact]
    public void APerDayLimit_IsPacedThroughThePacificDay_AndResetsAtMidnight()
    {
        var options = new QuotaOptions { RequestsPerWindow = 0, ModelBudgets = BudgetSettings.ParseModelBudgets($"{Pro}=1000/day") };
        var book = new QuotaBook(new BudgetState(), options);
        var sixAm = new DateTimeOffset(2026, 12, 7, 14, 0, 0, TimeSpan.Zero); // 06:00 PST

        // A quarter of the day released, plus the 10% burst: 350 at 06:00, not 1,000.
        Assert.Equal(350, Ask(book, sixAm, Pro, 2000).Granted);
        Assert.Equal(0, Ask(book, sixAm, Pro, 1).Granted);

        // At 18:00 three quarters (plus the burst) are released: what the morning did not use is there.
        Assert.Equal(500, Ask(book, sixAm + TimeSpan.FromHours(12), Pro, 2000).Granted);

        // A per-day pause lasts until midnight Pacific; the next day starts from zero.
        book.Pause(sixAm + TimeSpan.FromHours(13), Pro, null, perDay: true);
        Assert.Equal(0, Ask(book, sixAm + TimeSpan.FromHours(17.9), Pro, 1).Granted);
        Assert.Equal(100, Ask(book, sixAm + TimeSpan.FromHours(18) + TimeSpan.FromSeconds(1), Pro, 100).Granted);
    }

    [Fact]
    public void TheInteractiveReserve_IsLentWhileNoInteractiveJobWaits_AndReclaimedWhenOneDoes()
    {
        var options = new QuotaOptions { RequestsPerWindow = 100, Window = TimeSpan.FromSeconds(10), BurstPercent = 100 };
        var book = new QuotaBook(new BudgetState(), options);

        // Nobody interactive waits: the backlog may take the whole budget, reserve included.
        Assert.Equal(95, Ask(book, Start, Flash, 95).Granted);
        var now = Start + TimeSpan.FromSeconds(1);

        // An interactive job asks: it gets what is left, and the backlog no longer gets the reserve's room.
        Assert.Equal(1, Ask(book, now, Flash, 1, interactive: true).Granted);
        Assert.Equal(0, Ask(book, now, Flash, 4).Granted);
        Assert.Equal(1, Ask(book, now, Flash, 1, interactive: true).Granted);
    }

    [Fact]
    public void AClientCap_HoldsThatClient_WhileOthersUseTheModel()
    {
        var options = new QuotaOptions
        {
            RequestsPerWindow = 100, Window = TimeSpan.FromSeconds(10), BurstPercent = 100,
            ClientBudgets = BudgetSettings.ParseClientBudgets("client_42=10/10s"),
        };
        var book = new QuotaBook(new BudgetState(), options);

        var capped = Ask(book, Start, Flash, 50, client: "client_42");
        Assert.Equal(10, capped.Granted);
        Assert.Equal(0, Ask(book, Start, Flash, 1, client: "client_42").Granted);
        Assert.Contains("client_42", Ask(book, Start, Flash, 1, client: "client_42").Waiting);
        Assert.Equal(90, Ask(book, Start, Flash, 90).Granted);
    }

    [Fact]
    public void ADeadSilosPermits_FreeOneWindowAfterItsDeath()
    {
        var options = new QuotaOptions { RequestsPerWindow = 20, Window = TimeSpan.FromSeconds(10), BurstPercent = 100 };
        var book = new QuotaBook(new BudgetState(), options);
        Assert.Equal(20, Ask(book, Start, Flash, 20, silo: "dead").Granted);

        book.SiloDied(Start + TimeSpan.FromSeconds(1), "dead");

        Assert.Equal(0, Ask(book, Start + TimeSpan.FromSeconds(11), Flash, 1).Granted);
        Assert.Equal(20, Ask(book, Start + TimeSpan.FromSeconds(11.5), Flash, 20).Granted);
    }

    [Fact]
    public void AGlobalSpendCap_GrantsOnlyWhatItsRemainderCovers_AndAnsweredPricesFreeTheRest()
    {
        var options = new QuotaOptions { RequestsPerWindow = 1000, BurstPercent = 100, SpendCaps = SpendCap.ParseAll("global=0.39/day") };
        var book = new QuotaBook(new BudgetState(), options, _ => 39_000);

        var first = Ask(book, Start, Flash, 20);
        Assert.Equal(10, first.Granted);
        var refused = Ask(book, Start, Flash, 1);
        Assert.Equal(0, refused.Granted);
        Assert.Equal("spend cap global=0.39/day reached", refused.Waiting);

        // Five answered and billed, two not billed (a 503), three given back unused: five more fit.
        book.Exchange(Start, "s1", [], [], [new PermitReturn(first.LeaseId, 3)],
            [.. Enumerable.Repeat(new PermitCost(first.LeaseId, 39_000), 5), .. Enumerable.Repeat(new PermitCost(first.LeaseId, 0), 2)]);
        Assert.Equal(5, Ask(book, Start, Flash, 20).Granted);

        var cap = Assert.Single(book.Status(Start, []).Caps!);
        Assert.Equal((390_000, 195_000, 195_000), (cap.CapMicros, cap.SpentMicros, cap.ReservedMicros));
    }

    [Fact]
    public void AClientsSpendCap_HoldsThatClient_WhileOthersRunOn_AndANewPacificDayReleasesIt()
    {
        var options = new QuotaOptions
        {
            RequestsPerWindow = 1000, BurstPercent = 100, SpendCaps = SpendCap.ParseAll("*=0.078/day;client_42=1/month"),
        };
        var book = new QuotaBook(new BudgetState(), options, _ => 39_000);

        var a = Ask(book, Start, Flash, 5, client: "a");
        Assert.Equal(2, a.Granted);
        Assert.Equal(0, Ask(book, Start, Flash, 1, client: "a").Granted);
        Assert.Equal(2, Ask(book, Start, Flash, 5, client: "b").Granted);
        book.Exchange(Start, "s1", [], [], [], [new PermitCost(a.LeaseId, 39_000), new PermitCost(a.LeaseId, 39_000)]);
        Assert.Equal(0, Ask(book, Start, Flash, 1, client: "a").Granted);

        // Midnight Pacific: a's daily cap starts again.
        var tomorrow = QuotaClock.NextPacificMidnight(Start) + TimeSpan.FromSeconds(1);
        Assert.Equal(2, Ask(book, tomorrow, Flash, 5, client: "a").Granted);
    }

    [Fact]
    public void ADeadSilosUnpricedPermits_AreChargedTheirReservedPrice()
    {
        var options = new QuotaOptions { RequestsPerWindow = 1000, BurstPercent = 100, SpendCaps = SpendCap.ParseAll("global=1/day") };
        var book = new QuotaBook(new BudgetState(), options, _ => 100_000);
        Assert.Equal(4, Ask(book, Start, Flash, 4, silo: "dead").Granted);

        book.SiloDied(Start + TimeSpan.FromSeconds(1), "dead");

        var cap = Assert.Single(book.Status(Start + TimeSpan.FromSeconds(1), []).Caps!);
        Assert.Equal((400_000L, 0L), (cap.SpentMicros, cap.ReservedMicros));
        Assert.Equal(6, Ask(book, Start + TimeSpan.FromSeconds(2), Flash, 10).Granted);
    }

    [Theory]
    [InlineData("global=300/day;*=20/day;client_42=500/month", 3)]
    [InlineData("global=$0.5/day", 1)]
    public void SpendCaps_Parse(string text, int caps) => Assert.Equal(caps, SpendCap.ParseAll(text).Count);

    [Theory]
    [InlineData("global=300")]
    [InlineData("global=300/week")]
    [InlineData("=3/day")]
    [InlineData("global=-1/day")]
    public void SpendCaps_RejectWhatIsNotACap(string text) => Assert.Throws<FormatException>(() => SpendCap.ParseAll(text));

    [Theory]
    [InlineData("gemini-3-pro-image=10/60s,250/day;gemini-2.5-flash-image=500/60s", 2)]
    [InlineData(" a = 8/1.5s ", 1)]
    public void ModelBudgets_Parse(string text, int models) => Assert.Equal(models, BudgetSettings.ParseModelBudgets(text).Count);

    [Theory]
    [InlineData("a=10")]
    [InlineData("a=10/0s")]
    [InlineData("a=0/60s")]
    [InlineData("a=10/week")]
    [InlineData("=10/60s")]
    [InlineData("a=10/60s;a=5/day")]
    public void ModelBudgets_RejectWhatIsNotALimit(string text) =>
        Assert.Throws<FormatException>(() => BudgetSettings.ParseModelBudgets(text));

    [Fact]
    public void ClientBudgets_ReadWeightsCapsAndTheDefault()
    {
        var clients = BudgetSettings.ParseClientBudgets("*=weight:1,100/day;big=weight:3");
        var options = new QuotaOptions { ClientBudgets = clients };

        Assert.Equal(3, options.ClientOf("big").Weight);
        Assert.Empty(options.ClientOf("big").Caps);
        Assert.Equal("100/day", options.ClientOf("anyone").Caps.Single().ToString());
        Assert.Throws<FormatException>(() => BudgetSettings.ParseClientBudgets("a=weight:0"));
    }

    [Fact]
    public void PermitsAhead_ComeOnlyFromTheIdleHalf_AndNotWhileAnAskWentWithout()
    {
        var options = new QuotaOptions { RequestsPerWindow = 20, Window = TimeSpan.FromSeconds(10), BurstPercent = 100 };
        var book = new QuotaBook(new BudgetState(), options);
        BudgetAnswer AskAhead(DateTimeOffset at, int requests, int ahead) =>
            book.Exchange(at, "s1", [new BudgetAsk(Flash, null, requests, false, ahead)], [], []).Answers[0];

        // Idle: the job's permit and 4 ahead; then up to half the window (10) in use; past it, only what is asked.
        Assert.Equal(5, AskAhead(Start, 1, 4).Granted);
        Assert.Equal(5, AskAhead(Start, 2, 8).Granted);
        Assert.Equal(1, AskAhead(Start, 1, 8).Granted);

        // An ask goes without: for a while nothing more is granted ahead, even with room again.
        var other = new QuotaBook(new BudgetState(), options);
        var lease = other.Exchange(Start, "s2", [new BudgetAsk(Flash, null, 25, false)], [], []).Answers[0];
        Assert.Equal(20, lease.Granted);
        other.Exchange(Start, "s2", [], [], [new PermitReturn(lease.LeaseId, 15)]);
        Assert.Equal(1, other.Exchange(Start + TimeSpan.FromSeconds(1), "s1", [new BudgetAsk(Flash, null, 1, false, 4)], [], []).Answers[0].Granted);
        // Later, with 6 in use: the permit and 3 ahead (to half the window).
        Assert.Equal(4, other.Exchange(Start + TimeSpan.FromSeconds(3), "s1", [new BudgetAsk(Flash, null, 1, false, 4)], [], []).Answers[0].Granted);
    }

    private static BudgetAnswer Ask(
        QuotaBook book, DateTimeOffset now, string model, int requests, bool interactive = false, string? client = null, string silo = "s1") =>
        book.Exchange(now, silo, [new BudgetAsk(model, client, requests, interactive)], [], []).Answers[0];

    /// <summary>
    /// Three silos under a backlog: each exchanges every 50 ms, asking for up to 5% of the budget; each granted permit's
    /// request is written after a random delay (up to <paramref name="writeDelayMax"/>), reported with its age at the
    /// silo's next report, and arrives at Gemini within the margin after its write.
    /// </summary>
    private static Run Simulate(QuotaOptions options, int seed, int windows, TimeSpan writeDelayMax, TimeSpan reportEvery)
    {
        var random = new Random(seed);
        var book = new QuotaBook(new BudgetState(), options);
        var arrivals = new List<DateTimeOffset>();
        var pending = new List<(string Silo, Guid Lease, DateTimeOffset Written)>();
        var lastReport = new Dictionary<string, DateTimeOffset>();
        var end = Start + (options.Window * windows);
        var step = TimeSpan.FromMilliseconds(50);
        var ask = Math.Max(1, options.RequestsPerWindow / 20);
        for (var now = Start; now < end; now += step)
        {
            foreach (var silo in new[] { "s1", "s2", "s3" })
            {
                List<PermitUse> used = [];
                if (now - lastReport.GetValueOrDefault(silo) >= reportEvery)
                {
                    // Only requests already written are reported, with their ages measured now.
                    var written = pending.Where(p => p.Silo == silo && p.Written <= now).ToList();
                    used = [.. written.Select(p => new PermitUse(p.Lease, "c", 1, now - p.Written))];
                    pending.RemoveAll(p => p.Silo == silo && p.Written <= now);
                    lastReport[silo] = now;
                }

                var answer = book.Exchange(now, silo, [new BudgetAsk(Flash, null, ask, false, Ahead: 8)], used, []).Answers[0];
                for (var i = 0; i < answer.Granted; i++)
                {
                    var written = now + TimeSpan.FromTicks((long)(random.NextDouble() * writeDelayMax.Ticks));
                    pending.Add((silo, answer.LeaseId, written));
                    arrivals.Add(written + TimeSpan.FromTicks((long)(random.NextDouble() * options.SafetyMargin.Ticks)));
                }
            }
        }

        return new Run([.. arrivals.Order()]);
    }

    private sealed record Run(List<DateTimeOffset> Arrivals)
    {
        public int MostInAnyWindow(TimeSpan window)
        {
            var most = 0;
            var first = 0;
            for (var last = 0; last < Arrivals.Count; last++)
            {
                while (Arrivals[last] - Arrivals[first] >= window)
                {
                    first++;
                }

                most = Math.Max(most, last - first + 1);
            }

            return most;
        }
    }
}
