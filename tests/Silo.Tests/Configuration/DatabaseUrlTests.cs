using GenerationWorker.Grains.Postgres;
using Npgsql;

namespace GenerationWorker.Silo.Tests.Configuration;

public sealed class DatabaseUrlTests
{
    private static NpgsqlConnectionStringBuilder Parse(string value) => new(DatabaseUrl.ToConnectionString(value));

    [Fact]
    public void Url_WithEscapedPasswordAndSslMode_IsDecoded()
    {
        var cs = Parse("postgres://app%2Buser:p%40ss%3Aw%2Fd@db.example.com:6543/my%20db?sslmode=require");
        Assert.Equal("db.example.com", cs.Host);
        Assert.Equal(6543, cs.Port);
        Assert.Equal("app+user", cs.Username);
        Assert.Equal("p@ss:w/d", cs.Password);
        Assert.Equal("my db", cs.Database);
        Assert.Equal(SslMode.Require, cs.SslMode);
    }

    [Fact]
    public void NeonUrl_WithChannelBindingAndUnknownParameters_IsAccepted()
    {
        var cs = Parse("postgresql://neondb_owner:secret@ep-cool-1234.eu-central-1.aws.neon.tech/neondb?sslmode=require&channel_binding=require&pgbouncer=true&connect_timeout=15&application_name=worker");
        Assert.Equal("ep-cool-1234.eu-central-1.aws.neon.tech", cs.Host);
        Assert.Equal(5432, cs.Port);
        Assert.Equal(ChannelBinding.Require, cs.ChannelBinding);
        Assert.Equal(15, cs.Timeout);
        Assert.Equal("worker", cs.ApplicationName);
    }

    [Fact]
    public void Url_WithIPv6Host_KeepsTheAddress()
    {
        var cs = Parse("postgres://u:p@[fd12:3456::1]:5433/db");
        Assert.Equal("fd12:3456::1", cs.Host);
        Assert.Equal(5433, cs.Port);
    }

    [Theory]
    [InlineData("disable", SslMode.Disable)]
    [InlineData("prefer", SslMode.Prefer)]
    [InlineData("verify-full", SslMode.VerifyFull)]
    [InlineData("VERIFY-CA", SslMode.VerifyCA)]
    public void Url_SslModes_Map(string mode, SslMode expected) =>
        Assert.Equal(expected, Parse($"postgres://u@h/db?sslmode={mode}").SslMode);

    [Fact]
    public void KeyValueString_IsAccepted()
    {
        var cs = Parse("Host=127.0.0.1;Port=55432;Username=postgres;Password='a;b';Database=x");
        Assert.Equal("127.0.0.1", cs.Host);
        Assert.Equal("x", cs.Database);
        Assert.Equal("a;b", cs.Password);
    }

    [Theory]
    [InlineData("mysql://u:p@h/db")]
    [InlineData("postgres://")]
    [InlineData("Hots=nowhere")]
    [InlineData("Port=5432")]
    [InlineData("postgres://u:p@h/db?sslmode=sometimes")]
    public void Malformed_Throws(string value) => Assert.Throws<FormatException>(() => DatabaseUrl.ToConnectionString(value));
}
