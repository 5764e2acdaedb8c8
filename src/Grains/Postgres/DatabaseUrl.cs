using System.Globalization;
using Npgsql;

namespace GenerationWorker.Grains.Postgres;

/// <summary>
/// Turns <c>DATABASE_URL</c> into an Npgsql connection string. Accepts the URL form Neon and Railway give
/// (<c>postgres://user:p%40ss@host:5432/db?sslmode=require</c>) and an Npgsql <c>key=value</c> string.
/// </summary>
public static class DatabaseUrl
{
    /// <summary>
    /// True when <paramref name="value"/> names a transaction-mode pooler by convention: a host whose first label ends in
    /// <c>-pooler</c> (Neon's pooled endpoint, <c>ep-name-123-pooler.region.aws.neon.tech</c>) or a
    /// <c>pgbouncer=true</c> query parameter (Prisma's marker). Other poolers are found by the start-up probe.
    /// </summary>
    public static bool NamesPooler(string value)
    {
        value = value.Trim();
        string? host;
        if (value.Contains("://", StringComparison.Ordinal))
        {
            if (!Uri.TryCreate(value, UriKind.Absolute, out var uri))
            {
                return false;
            }

            host = uri.Host;
            var marked = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
                .Any(pair => pair.Equals("pgbouncer=true", StringComparison.OrdinalIgnoreCase));
            if (marked)
            {
                return true;
            }
        }
        else
        {
            try
            {
                host = new NpgsqlConnectionStringBuilder(value).Host;
            }
            catch (ArgumentException)
            {
                return false;
            }
        }

        return (host ?? "").Split(',').Any(h => h.Trim().Split('.')[0].EndsWith("-pooler", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>The host (and port) of an Npgsql connection string, for log lines: never the user or password.</summary>
    public static string HostOf(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        return $"{builder.Host}:{builder.Port}";
    }

    /// <summary>
    /// Converts <paramref name="value"/>; throws <see cref="FormatException"/> saying what is wrong, in words that follow
    /// the variable's name (<c>DATABASE_URL must start with ...</c>), never quoting the value (it holds a password).
    /// </summary>
    public static string ToConnectionString(string value)
    {
        value = value.Trim();
        if (value.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase)
            || value.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            return WithoutGssUnlessAsked(FromUrl(value), value);
        }

        if (value.Contains("://", StringComparison.Ordinal))
        {
            throw new FormatException("must start with postgres:// or postgresql://, or be a key=value connection string");
        }

        try
        {
            var builder = new NpgsqlConnectionStringBuilder(value);
            if (string.IsNullOrEmpty(builder.Host))
            {
                throw new FormatException("names no Host (a key=value connection string needs Host=...)");
            }

            return WithoutGssUnlessAsked(builder.ConnectionString, value);
        }
        catch (ArgumentException exception)
        {
            throw new FormatException("is not a valid connection string: " + exception.Message);
        }
    }

    /// <summary>
    /// Turns GSS (Kerberos) encryption off unless <paramref name="original"/> asks for it: Npgsql tries it by default,
    /// which loads <c>libgssapi_krb5</c> on every connection, a library the .NET runtime images do not ship (it prints an
    /// error per attempt). Neon, Railway and most hosted PostgreSQL have no Kerberos.
    /// </summary>
    private static string WithoutGssUnlessAsked(string connectionString, string original)
    {
        if (original.Contains("gss", StringComparison.OrdinalIgnoreCase))
        {
            return connectionString;
        }

        return new NpgsqlConnectionStringBuilder(connectionString) { GssEncryptionMode = GssEncryptionMode.Disable }.ConnectionString;
    }

    private static string FromUrl(string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || string.IsNullOrEmpty(uri.Host))
        {
            throw new FormatException("is not a valid postgres:// URL");
        }

        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = uri.HostNameType == UriHostNameType.IPv6 ? uri.Host.Trim('[', ']') : uri.Host,
            Port = uri.IsDefaultPort || uri.Port <= 0 ? 5432 : uri.Port,
        };
        var database = Uri.UnescapeDataString(uri.AbsolutePath.TrimStart('/'));
        if (database.Length > 0)
        {
            builder.Database = database;
        }

        if (uri.UserInfo.Length > 0)
        {
            var colon = uri.UserInfo.IndexOf(':', StringComparison.Ordinal);
            builder.Username = Uri.UnescapeDataString(colon < 0 ? uri.UserInfo : uri.UserInfo[..colon]);
            if (colon >= 0)
            {
                builder.Password = Uri.UnescapeDataString(uri.UserInfo[(colon + 1)..]);
            }
        }

        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            var key = Uri.UnescapeDataString(equals < 0 ? pair : pair[..equals]).ToLowerInvariant();
            var parameter = equals < 0 ? "" : Uri.UnescapeDataString(pair[(equals + 1)..].Replace('+', ' '));
            Apply(builder, key, parameter);
        }

        return builder.ConnectionString;
    }

    private static void Apply(NpgsqlConnectionStringBuilder builder, string key, string value)
    {
        switch (key)
        {
            case "sslmode":
                builder.SslMode = value.ToLowerInvariant() switch
                {
                    "disable" => SslMode.Disable,
                    "allow" => SslMode.Allow,
                    "prefer" => SslMode.Prefer,
                    "require" => SslMode.Require,
                    "verify-ca" => SslMode.VerifyCA,
                    "verify-full" => SslMode.VerifyFull,
                    _ => throw new FormatException($"has sslmode '{value}', which is not one of disable, allow, prefer, require, verify-ca, verify-full"),
                };
                break;
            case "channel_binding":
                builder.ChannelBinding = value.ToLowerInvariant() switch
                {
                    "disable" => ChannelBinding.Disable,
                    "prefer" => ChannelBinding.Prefer,
                    "require" => ChannelBinding.Require,
                    _ => throw new FormatException($"has channel_binding '{value}', which is not one of disable, prefer, require"),
                };
                break;
            case "sslrootcert":
                builder.RootCertificate = value;
                break;
            case "sslcert":
                builder.SslCertificate = value;
                break;
            case "sslkey":
                builder.SslKey = value;
                break;
            case "connect_timeout":
                builder.Timeout = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0
                    ? seconds
                    : throw new FormatException($"has connect_timeout '{value}', which is not a whole number of seconds");
                break;
            case "application_name":
                builder.ApplicationName = value;
                break;
            case "options":
                builder.Options = value;
                break;
            case "target_session_attrs":
                builder.TargetSessionAttributes = value;
                break;
            default:
                // libpq parameters Npgsql has no use for (pgbouncer, schema hints of other tools...) are ignored.
                break;
        }
    }
}
