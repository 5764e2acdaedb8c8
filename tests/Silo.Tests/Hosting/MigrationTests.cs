using System.Text.Json.Nodes;
using GenerationWorker.TestSupport;
using Npgsql;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>
/// <c>GenerationWorker.Silo migrate</c> (the real executable) upgrading the web app's own <c>generation_job</c> table in
/// place: rows kept, worker columns, indexes and trigger added, concurrent runs harmless.
/// </summary>
[Collection(SiloProcessCollection.Name)]
public sealed class MigrationTests(SiloProcessFixture fixture) : IClassFixture<SiloProcessFixture>
{
    private const string ValidPayload = """{"prompt":"a red chair in a white room","settings":{"aspectRatio":"1:1","imageQuality":"1k","numberOfVariants":1}}""";

    /// <summary>The table as the web app creates it: the columns of the job contract and nothing of the worker's.</summary>
    private const string AppTable =
        """
        CREATE TABLE generation_job (
            id            text PRIMARY KEY,
            client_id     text        NOT NULL,
            flow_id       text        NULL,
            type          text        NOT NULL,
            payload       jsonb       NOT NULL,
            status        text        NOT NULL DEFAULT 'pending',
            progress      integer     NOT NULL DEFAULT 0,
            result        jsonb       NULL,
            error         text        NULL,
            attempts      integer     NOT NULL DEFAULT 0,
            max_attempts  integer     NOT NULL DEFAULT 3,
            scheduled_for timestamptz NOT NULL DEFAULT now(),
            locked_by     text        NULL,
            locked_at     timestamptz NULL,
            priority      integer     NOT NULL DEFAULT 100,
            created_at    timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz NULL,
            completed_at  timestamptz NULL
        );
        """;

    /// <summary>An older app's table: no priority, no flow_id.</summary>
    private const string OlderAppTable =
        """
        CREATE TABLE generation_job (
            id            text PRIMARY KEY,
            client_id     text        NOT NULL,
            type          text        NOT NULL,
            payload       jsonb       NOT NULL,
            status        text        NOT NULL DEFAULT 'pending',
            progress      integer     NOT NULL DEFAULT 0,
            result        jsonb       NULL,
            error         text        NULL,
            attempts      integer     NOT NULL DEFAULT 0,
            max_attempts  integer     NOT NULL DEFAULT 3,
            scheduled_for timestamptz NOT NULL DEFAULT now(),
            locked_by     text        NULL,
            locked_at     timestamptz NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz NULL,
            completed_at  timestamptz NULL
        );
        """;

    private static readonly string[] WorkerColumns = ["lease_token", "lease_expires_at", "updated_at"];

    private static readonly string[] WorkerIndexes =
        ["generation_job_claimable_idx", "generation_job_scheduled_idx", "generation_job_lease_idx", "generation_job_owner_idx"];

    [Fact]
    public async Task Migrate_UpgradesTheAppsTableInPlace_RunsAgainConcurrentlyAsANoOp_AndASiloThenRunsJobs()
    {
        var database = fixture.ConnectionString;
        await ExecuteAsync(database, AppTable);
        await ExecuteAsync(database,
            """
            INSERT INTO generation_job (id, client_id, flow_id, type, payload, status, progress, attempts, created_at)
            VALUES ('job_app_pending', 'client-a', 'flow-1', 'image_generation', @payload::jsonb, 'pending', 0, 0, now() - interval '2 minutes');
            INSERT INTO generation_job (id, client_id, type, payload, status, progress, result, attempts, locked_by, locked_at,
                                        started_at, completed_at, priority, created_at)
            VALUES ('job_app_completed', 'client-a', 'image_generation', '{"prompt":"done before"}', 'completed', 100,
                    '{"imageUrls":["https://cdn.example.test/a.png"],"imageIds":["img_1"],"duration":8123}', 1, 'seed-worker-1',
                    now() - interval '1 hour', now() - interval '1 hour', now() - interval '59 minutes', 50, now() - interval '1 hour');
            INSERT INTO generation_job (id, client_id, flow_id, type, payload, status, error, attempts, max_attempts, completed_at, created_at)
            VALUES ('job_app_failed', 'client-b', 'flow-2', 'image_edit', '{"sourceImageUrl":"https://x.test/s.png","editPrompt":"bluer"}',
                    'failed', 'Gemini blocked the prompt', 3, 3, now() - interval '30 minutes', now() - interval '40 minutes');
            """,
            ("payload", ValidPayload));
        var before = await RowsAsync(database);
        var url = PostgresUrl(database);

        var first = await SiloProcess.RunToExitAsync(["migrate"], new Dictionary<string, string?> { ["DATABASE_URL"] = url });

        Assert.True(first.ExitCode == 0, first.ToString());
        var known = GenerationWorker.Grains.Postgres.SchemaMigrator.Known;
        Assert.Contains($"{known.Count} migrations applied now", first.StandardOutput, StringComparison.Ordinal);
        AssertRowsKept(before, await RowsAsync(database));
        await AssertWorkerSchemaAsync(database);
        var applied = await AppliedMigrationsAsync(database);
        Assert.Equal([.. known.Select(m => $"{m.Version} {m.Name}")], applied.Select(m => m.Split('|')[0]));
        Assert.Equal(["1 0001_orleans", "2 0002_generation_job"], applied.Take(2).Select(m => m.Split('|')[0]));

        var again = await Task.WhenAll(
            SiloProcess.RunToExitAsync(["migrate"], new Dictionary<string, string?> { ["DATABASE_URL"] = url }),
            SiloProcess.RunToExitAsync(["migrate"], new Dictionary<string, string?> { ["DATABASE_URL"] = database }));

        foreach (var run in again)
        {
            Assert.True(run.ExitCode == 0, run.ToString());
            Assert.Contains($"0 migrations applied now, {known.Count} already present", run.StandardOutput, StringComparison.Ordinal);
        }

        Assert.Equal(applied, await AppliedMigrationsAsync(database));
        AssertRowsKept(before, await RowsAsync(database));

        await using var silo = await fixture.StartSiloAsync(new Dictionary<string, string?> { ["DATABASE_URL"] = url });
        var jobs = fixture.Jobs;
        var inserted = await jobs.InsertAsync("image_generation", ValidPayload);

        var newJob = await jobs.WaitFinalAsync(inserted, TimeSpan.FromSeconds(60));
        var oldJob = await jobs.WaitFinalAsync("job_app_pending", TimeSpan.FromSeconds(60));
        Assert.True(newJob.Status == "completed", silo.Describe(newJob.ToString()));
        Assert.True(oldJob.Status == "completed", silo.Describe(oldJob.ToString()));
        Assert.Single(newJob.ImageUrls);
        Assert.Single(oldJob.ImageUrls);
        var untouched = (await RowsAsync(database)).Where(row => row.Key is "job_app_completed" or "job_app_failed").ToDictionary();
        AssertRowsKept(before.Where(row => row.Key is "job_app_completed" or "job_app_failed").ToDictionary(), untouched);
    }

    [Fact]
    public async Task Migrate_UpgradesAnOlderAppTableWithoutPriorityOrFlowId()
    {
        var database = await PostgresServer.CreateDatabaseAsync("older");
        try
        {
            await ExecuteAsync(database, OlderAppTable);
            await ExecuteAsync(database,
                """
                INSERT INTO generation_job (id, client_id, type, payload, status, attempts, created_at)
                VALUES ('job_old_1', 'client-a', 'image_generation', '{"prompt":"one"}', 'pending', 0, now() - interval '5 minutes'),
                       ('job_old_2', 'client-a', 'image_generation', '{"prompt":"two"}', 'processing', 1, now() - interval '4 minutes'),
                       ('job_old_3', 'client-b', 'image_edit', '{"sourceImageUrl":"https://x.test/a.png","editPrompt":"e"}', 'cancelled', 0, now());
                """);
            var before = await RowsAsync(database);

            var run = await SiloProcess.RunToExitAsync(["migrate"], new Dictionary<string, string?> { ["DATABASE_URL"] = PostgresUrl(database) });

            Assert.True(run.ExitCode == 0, run.ToString());
            var after = await RowsAsync(database);
            AssertRowsKept(before, after);
            await AssertWorkerSchemaAsync(database);
            Assert.All(after.Values, row =>
            {
                Assert.Equal(100, row["priority"]!.GetValue<int>());
                Assert.Null(row["flow_id"]);
            });

            // The app's usual insert, which names priority, now works on the upgraded table.
            var id = await new JobTable(database).InsertAsync("image_generation", ValidPayload, priority: 10);
            Assert.Equal("pending", (await new JobTable(database).GetAsync(id)).Status);
        }
        finally
        {
            await PostgresServer.DropDatabaseAsync(database);
        }
    }

    private static void AssertRowsKept(IReadOnlyDictionary<string, JsonObject> before, IReadOnlyDictionary<string, JsonObject> after)
    {
        Assert.Equal(before.Keys.Order(), after.Keys.Order());
        foreach (var (id, row) in before)
        {
            foreach (var (column, value) in row)
            {
                Assert.True(
                    JsonNode.DeepEquals(value, after[id][column]),
                    $"{id}.{column} was {value?.ToJsonString()} and is now {after[id][column]?.ToJsonString()}");
            }
        }
    }

    private static async Task AssertWorkerSchemaAsync(string database)
    {
        var columns = await ListAsync(database,
            "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name = 'generation_job'");
        Assert.All(WorkerColumns.Concat(["priority", "flow_id"]), column => Assert.Contains(column, columns));
        var indexes = await ListAsync(database, "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND tablename = 'generation_job'");
        Assert.All(WorkerIndexes, index => Assert.Contains(index, indexes));
        var triggers = await ListAsync(database,
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'generation_job'::regclass AND NOT tgisinternal");
        Assert.Equal(["generation_job_changed"], triggers);
        var tables = await ListAsync(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'");
        Assert.All(
            new[] { "generation_job_output", "generation_job_event", "orleansquery", "orleans_membership", "schema_migration" },
            table => Assert.Contains(table, tables));
    }

    /// <summary>Every row as JSON by id: the app's columns only before the upgrade, every column after.</summary>
    private static async Task<Dictionary<string, JsonObject>> RowsAsync(string database)
    {
        var rows = new Dictionary<string, JsonObject>();
        foreach (var json in await ListAsync(database, "SELECT to_jsonb(j)::text FROM generation_job j"))
        {
            var row = JsonNode.Parse(json)!.AsObject();
            rows[row["id"]!.GetValue<string>()] = row;
        }

        return rows;
    }

    private static Task<List<string>> AppliedMigrationsAsync(string database) =>
        ListAsync(database, "SELECT version || ' ' || name || '|' || applied_at::text FROM schema_migration ORDER BY version");

    /// <summary>The database as the URL Railway and Neon hand out: postgres://user@host:port/name.</summary>
    private static string PostgresUrl(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"postgres://{Uri.EscapeDataString(builder.Username!)}@{builder.Host}:{builder.Port}/{Uri.EscapeDataString(builder.Database!)}";
    }

    private static async Task ExecuteAsync(string database, string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync();
    }

    private static async Task<List<string>> ListAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
