namespace GenerationWorker.Bench;

/// <summary>The command line: <c>&lt;figure&gt; [--short] [--json out.json] [--kill-quota-silo] [--two-models] [--throttle]</c>.</summary>
internal sealed class BenchOptions
{
    /// <summary>Every figure <c>all</c> runs, in order.</summary>
    public static readonly IReadOnlyList<string> AllFigures =
        ["pickup", "throughput", "idle", "memory", "budget", "budget-kill-quota-silo", "budget-throttle", "failover", "successor"];

    /// <summary>Figures run only when named (not part of <c>all</c>).</summary>
    public static readonly IReadOnlyList<string> OnDemandFigures = ["encode", "quota", "budget-two-models"];

    /// <summary>The usage text.</summary>
    public const string Usage =
        "usage: GenerationWorker.Bench <pickup|throughput|idle|memory|budget|failover|successor|encode|quota|all> [--short] [--json out.json]\n" +
        "       GenerationWorker.Bench budget --kill-quota-silo | --two-models | --throttle";

    /// <summary>The figures to run.</summary>
    public required IReadOnlyList<string> Figures { get; init; }

    /// <summary><c>--short</c>: smaller sizes, for CI.</summary>
    public bool Short { get; init; }

    /// <summary><c>--json</c>: where to write the results of a single figure.</summary>
    public string? JsonPath { get; init; }

    /// <summary>Reads the command line.</summary>
    /// <exception cref="ArgumentException">It is not valid.</exception>
    public static BenchOptions Parse(string[] args)
    {
        string? figure = null;
        string? json = null;
        var isShort = false;
        var killQuota = false;
        var throttle = false;
        var twoModels = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--short":
                    isShort = true;
                    break;
                case "--json" when i + 1 < args.Length:
                    json = args[++i];
                    break;
                case "--kill-quota-silo":
                    killQuota = true;
                    break;
                case "--two-models":
                    twoModels = true;
                    break;
                case "--throttle":
                    throttle = true;
                    break;
                case var name when !name.StartsWith('-') && figure is null:
                    figure = name;
                    break;
                default:
                    throw new ArgumentException("unexpected argument: " + args[i]);
            }
        }

        var figures = figure switch
        {
            null => throw new ArgumentException("name a figure"),
            "all" => AllFigures,
            "budget" when killQuota => ["budget-kill-quota-silo"],
            "budget" when twoModels => ["budget-two-models"],
            "budget" when throttle => ["budget-throttle"],
            _ when AllFigures.Contains(figure) || OnDemandFigures.Contains(figure) => [figure],
            _ => throw new ArgumentException("unknown figure: " + figure),
        };
        return new BenchOptions { Figures = figures, Short = isShort, JsonPath = json };
    }

    /// <summary>The results file of <paramref name="figure"/>.</summary>
    public string JsonPathFor(string figure) =>
        JsonPath is not null && Figures.Count == 1
            ? JsonPath
            : Path.Combine(Harness.Repo.ResultsDir, figure + ".json");
}
