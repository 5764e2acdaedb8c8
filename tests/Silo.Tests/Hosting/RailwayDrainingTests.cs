using GenerationWorker.Silo.Hosting;

namespace GenerationWorker.Silo.Tests.Hosting;

public sealed class RailwayDrainingTests
{
    private static readonly TimeSpan Shutdown = TimeSpan.FromSeconds(25);

    [Fact]
    public void OnRailway_WithoutTheDrainingVariable_Warns()
    {
        var warning = RailwayDraining.Check(Env(("RAILWAY_SERVICE_ID", "svc")), Shutdown);

        Assert.StartsWith("RAILWAY_DEPLOYMENT_DRAINING_SECONDS is not set", warning, StringComparison.Ordinal);
        Assert.Contains("at least 35", warning, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("10")]
    [InlineData("34")]
    [InlineData("NaN")]
    [InlineData("soon")]
    public void OnRailway_WithADrainingTimeShorterThanTheDrain_Warns(string value) =>
        Assert.StartsWith(
            $"RAILWAY_DEPLOYMENT_DRAINING_SECONDS is '{value}'",
            RailwayDraining.Check(Env(("RAILWAY_PROJECT_ID", "p"), ("RAILWAY_DEPLOYMENT_DRAINING_SECONDS", value)), Shutdown),
            StringComparison.Ordinal);

    [Fact]
    public void OnRailway_WithEnoughDrainingTime_OrElsewhere_SaysNothing()
    {
        Assert.Null(RailwayDraining.Check(Env(("RAILWAY_SERVICE_ID", "svc"), ("RAILWAY_DEPLOYMENT_DRAINING_SECONDS", "40")), Shutdown));
        Assert.Null(RailwayDraining.Check(Env(), Shutdown));
    }

    [Fact]
    public void RailwayJson_DrainsLongerThanTheDefaultShutdownTimeoutAndItsMargin()
    {
        using var config = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(GenerationWorker.TestSupport.RepoPaths.Root, "railway.json")));

        var draining = config.RootElement.GetProperty("deploy").GetProperty("drainingSeconds").GetInt32();

        Assert.True(draining >= (Shutdown + RailwayDraining.Margin).TotalSeconds, $"drainingSeconds {draining}");
    }

    private static Func<string, string?> Env(params (string Name, string Value)[] variables) =>
        name => variables.FirstOrDefault(v => v.Name == name).Value;
}
