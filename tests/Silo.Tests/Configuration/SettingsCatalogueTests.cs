using GenerationWorker.Grains.Configuration;
using GenerationWorker.Silo.Configuration;

namespace GenerationWorker.Silo.Tests.Configuration;

/// <summary>Every variable of the catalogue is read by the service, and each refused one stops it with a line naming it.</summary>
public sealed class SettingsCatalogueTests
{
    // Refused by every setting that checks its value: no number, switch, choice, URL, model id, directory, budget,
    // price table or connection string looks like this.
    private const string Nonsense = "\u00e9x y";

    private static Dictionary<string, string?> Valid() => ServiceSettingsTests.Valid();

    public static TheoryData<string> CheckedSettings() =>
        [.. Settings.All.Where(Refuses).Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(CheckedSettings))]
    public void ARefusedValue_StopsStartUpWithOneLineNamingTheVariable(string name)
    {
        var env = Valid();
        env[name] = Nonsense;

        var error = Assert.Throws<ConfigurationException>(() => ServiceSettings.Load(variable => env.GetValueOrDefault(variable)));

        Assert.StartsWith(name + " ", Assert.Single(error.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void TheCheckedSettings_AreEverySettingButFreeText()
    {
        var free = Settings.All.Where(s => !Refuses(s)).Select(s => s.Name).Order(StringComparer.Ordinal);

        Assert.Equal(
            ["DASHBOARD_PASSWORD", "DASHBOARD_USERNAME", "GEMINI_API_KEY", "LOCAL_STORAGE_DIR", "ORLEANS_CLUSTER_ID",
             "R2_ACCESS_KEY_ID", "R2_BUCKET", "R2_SECRET_ACCESS_KEY", "WORKER_ID"],
            free);
    }

    [Fact]
    public void Defaults_AreTheCatalogues()
    {
        var settings = ServiceSettings.Load(variable => Valid().GetValueOrDefault(variable));

        Assert.Equal(Settings.WorkerConcurrency.Default, settings.Worker.Concurrency);
        Assert.Equal(Settings.PollInterval.Default, settings.Worker.PollInterval);
        Assert.Equal(Settings.ImageMemoryBudget.Default, settings.Worker.ImageMemoryBudgetBytes);
        Assert.Equal(512L << 20, settings.Worker.ImageMemoryBudgetBytes);
        Assert.Equal(Settings.QuotaMargin.Default, settings.Quota.SafetyMargin);
        Assert.Equal(TimeSpan.FromMilliseconds(250), settings.Quota.SafetyMargin);
        Assert.Empty(settings.Quota.ModelBudgets);
        Assert.Equal(10, settings.Quota.BurstPercent);
        Assert.Equal(Settings.Port.Default, settings.Silo.HttpPort);
        Assert.Equal(".local/storage", new Grains.Storage.StorageOptions().LocalDirectory);
    }

    private static bool Refuses(Setting setting) => setting.Problem(Nonsense) is not null;
}
