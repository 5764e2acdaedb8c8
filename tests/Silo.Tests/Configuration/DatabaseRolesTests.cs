using GenerationWorker.Grains.Postgres;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Hosting;
using Npgsql;

namespace GenerationWorker.Silo.Tests.Configuration;

/// <summary>
/// The connection strings Neon and Vercel hand out (a pooled <c>DATABASE_URL</c> on a <c>-pooler</c> host, the direct
/// <c>DATABASE_URL_UNPOOLED</c>), how they are classified, and which connection is given what.
/// </summary>
public sealed class DatabaseRolesTests
{
    private const string NeonPooled =
        "postgresql://neondb_owner:npg_s3cr%40t@ep-cool-darkness-a1b2c3d4-pooler.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require";

    private const string NeonDirect =
        "postgresql://neondb_owner:npg_s3cr%40t@ep-cool-darkness-a1b2c3d4.us-east-2.aws.neon.tech/neondb?sslmode=require&channel_binding=require";

    private static readonly ConnectionBehaviour PgBouncer118 = new(TransactionPooler: true, KeepsPreparedStatements: false);

    private static ServiceSettings Load(Dictionary<string, string?> database)
    {
        var env = new Dictionary<string, string?>
        {
            ["GEMINI_API_KEY"] = "key-123",
            ["STORAGE"] = "local",
        };
        foreach (var (name, value) in database)
        {
            env[name] = value;
        }

        return ServiceSettings.Load(name => env.GetValueOrDefault(name));
    }

    [Fact]
    public void NeonPooledUrl_IsParsedAndNamedAPooler_TheDirectOneIsNot()
    {
        var settings = Load(new() { ["DATABASE_URL"] = NeonPooled, ["DATABASE_URL_UNPOOLED"] = NeonDirect });

        var pooled = new NpgsqlConnectionStringBuilder(settings.Database.ConnectionString);
        Assert.Equal("ep-cool-darkness-a1b2c3d4-pooler.us-east-2.aws.neon.tech", pooled.Host);
        Assert.Equal(5432, pooled.Port);
        Assert.Equal("neondb", pooled.Database);
        Assert.Equal("neondb_owner", pooled.Username);
        Assert.Equal("npg_s3cr@t", pooled.Password);
        Assert.Equal(SslMode.Require, pooled.SslMode);
        Assert.Equal(ChannelBinding.Require, pooled.ChannelBinding);
        Assert.True(settings.Database.NamesPooler);

        var direct = new NpgsqlConnectionStringBuilder(settings.Database.UnpooledConnectionString);
        Assert.Equal("ep-cool-darkness-a1b2c3d4.us-east-2.aws.neon.tech", direct.Host);
        Assert.Equal(SslMode.Require, direct.SslMode);
        Assert.Equal(ChannelBinding.Require, direct.ChannelBinding);
        Assert.False(DatabaseUrl.NamesPooler(NeonDirect));
        Assert.Equal("DATABASE_URL_UNPOOLED", settings.Database.UnpooledVariable);
    }

    [Theory]
    [InlineData("postgres://u:p@ep-x-123-pooler.eu-central-1.aws.neon.tech:5432/db", true)]
    [InlineData("Host=ep-x-123-pooler.eu-central-1.aws.neon.tech;Username=u;Database=db", true)]
    [InlineData("postgres://u:p@db.example.com:6543/db?pgbouncer=true", true)]
    [InlineData("postgres://u:p@ep-x-123.eu-central-1.aws.neon.tech/db?sslmode=require", false)]
    [InlineData("postgres://u:p@pooler.example.com/db", false)]
    [InlineData("Host=127.0.0.1;Port=6432;Username=postgres", false)]
    public void NamesPooler_RecognisesNeonsPoolerHostAndPrismasMarker(string value, bool expected) =>
        Assert.Equal(expected, DatabaseUrl.NamesPooler(value));

    [Fact]
    public void DirectUrl_IsAcceptedAsTheUnpooledUrl_AndAMalformedOneNamesItsVariable()
    {
        var settings = Load(new() { ["DATABASE_URL"] = NeonPooled, ["DIRECT_URL"] = NeonDirect });
        Assert.Equal("DIRECT_URL", settings.Database.UnpooledVariable);
        Assert.Contains("-pooler", NeonPooled);
        Assert.DoesNotContain("-pooler", settings.Database.UnpooledConnectionString);

        var bad = Assert.Throws<ConfigurationException>(() => Load(new() { ["DATABASE_URL"] = NeonPooled, ["DATABASE_URL_UNPOOLED"] = "mysql://x" }));
        Assert.Contains(bad.Errors, e => e.StartsWith("DATABASE_URL_UNPOOLED ", StringComparison.Ordinal));
    }

    [Fact]
    public void PoolerWithoutUnpooledUrl_PollsWithoutPreparedStatements_AndWarnsNamingDatabaseUrlUnpooled()
    {
        var settings = Load(new() { ["DATABASE_URL"] = NeonPooled });

        var roles = DatabaseRoles.Decide(settings.Database, PgBouncer118);
        roles.ApplyTo(settings.Worker);

        Assert.Null(roles.Listen);
        Assert.False(settings.Worker.ListenEnabled);
        Assert.False(settings.Worker.PrepareStatements);
        Assert.Equal(MigrationLocking.Transaction, roles.MigrationLocking);
        Assert.Equal(settings.Database.ConnectionString, roles.Orleans);
        var warning = Assert.Single(roles.Warnings);
        Assert.Contains("DATABASE_URL_UNPOOLED", warning);
        Assert.Contains("polling", warning);
        Assert.DoesNotContain("npg_s3cr", roles.Summary);
        Assert.DoesNotContain('\n', roles.Summary);
    }

    [Fact]
    public void PoolerWithUnpooledUrl_ListensAndMigratesOnTheDirectConnection()
    {
        var settings = Load(new() { ["DATABASE_URL"] = NeonPooled, ["DATABASE_URL_UNPOOLED"] = NeonDirect });

        var roles = DatabaseRoles.Decide(settings.Database, PgBouncer118);

        Assert.Equal(settings.Database.UnpooledConnectionString, roles.Listen);
        Assert.Equal(settings.Database.UnpooledConnectionString, roles.Migrations);
        Assert.Equal(MigrationLocking.Session, roles.MigrationLocking);
        Assert.Equal(settings.Database.ConnectionString, roles.Jobs);
        Assert.False(roles.PrepareStatements);
        Assert.Empty(roles.Warnings);
        Assert.Contains("Job notifications: LISTEN on DATABASE_URL_UNPOOLED", roles.Summary);
        Assert.Contains("Migrations: DATABASE_URL_UNPOOLED under a session advisory lock", roles.Summary);
    }

    [Fact]
    public void DirectServer_KeepsListenAndPreparedStatementsOnDatabaseUrl()
    {
        var settings = Load(new() { ["DATABASE_URL"] = NeonDirect });

        var roles = DatabaseRoles.Decide(settings.Database, ConnectionBehaviour.Server);

        Assert.Equal(settings.Database.ConnectionString, roles.Listen);
        Assert.True(roles.PrepareStatements);
        Assert.Equal(MigrationLocking.Session, roles.MigrationLocking);
        Assert.Empty(roles.Warnings);
        Assert.Contains("is a PostgreSQL server (probed)", roles.Summary);
    }

    [Fact]
    public void PoolerHostName_WinsOverAProbeThatSawNoPooler_AndPreparedStatementsStayOff()
    {
        var settings = Load(new() { ["DATABASE_URL"] = NeonPooled });

        var roles = DatabaseRoles.Decide(settings.Database, ConnectionBehaviour.Server);

        Assert.Null(roles.Listen);
        Assert.False(roles.PrepareStatements);
        Assert.Equal(MigrationLocking.Transaction, roles.MigrationLocking);
        Assert.Contains("by its -pooler host name", roles.Summary);
    }

    [Fact]
    public void PoolerThatKeepsPreparedStatements_GetsThem()
    {
        var settings = Load(new() { ["DATABASE_URL"] = NeonPooled });

        var roles = DatabaseRoles.Decide(settings.Database, new ConnectionBehaviour(true, true));

        Assert.True(roles.PrepareStatements);
        Assert.Null(roles.Listen);
    }

    [Fact]
    public void ExplicitSettings_WinOverWhatWasDetected()
    {
        var settings = Load(new()
        {
            ["DATABASE_URL"] = NeonPooled,
            ["LISTEN_ENABLED"] = "true",
            ["DATABASE_PREPARE_STATEMENTS"] = "true",
        });

        var roles = DatabaseRoles.Decide(settings.Database, PgBouncer118);

        Assert.Equal(settings.Database.ConnectionString, roles.Listen);
        Assert.True(roles.PrepareStatements);
        Assert.Contains(roles.Warnings, w => w.StartsWith("DATABASE_PREPARE_STATEMENTS=true", StringComparison.Ordinal));

        var off = Load(new() { ["DATABASE_URL"] = NeonDirect, ["DATABASE_URL_UNPOOLED"] = NeonDirect, ["LISTEN_ENABLED"] = "false", ["DATABASE_PREPARE_STATEMENTS"] = "false" });
        var offRoles = DatabaseRoles.Decide(off.Database, ConnectionBehaviour.Server);
        Assert.Null(offRoles.Listen);
        Assert.False(offRoles.PrepareStatements);
        Assert.Contains("LISTEN_ENABLED=false", offRoles.Summary);
    }
}
