using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace GenerationWorker.Silo.Hosting;

/// <summary>HTTP Basic auth against the dashboard's credentials, for the dashboard and the operator endpoints.</summary>
public static class BasicAuth
{
    /// <summary>True when <paramref name="header"/> (an Authorization header) carries exactly <paramref name="expected"/>
    /// (<c>user:password</c> in UTF-8), compared in constant time.</summary>
    public static bool IsAuthorized(string header, byte[] expected)
    {
        if (!AuthenticationHeaderValue.TryParse(header, out var value)
            || !"Basic".Equals(value.Scheme, StringComparison.OrdinalIgnoreCase) || value.Parameter is null)
        {
            return false;
        }

        byte[] given;
        try
        {
            given = Convert.FromBase64String(value.Parameter);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(given, expected);
    }

    /// <summary>Answers 401 with a Basic challenge: sets both on the response, and returns the 401 for an endpoint filter.</summary>
    public static IResult Challenge(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status401Unauthorized;
        context.Response.Headers.WWWAuthenticate = "Basic realm=\"Orleans Dashboard\", charset=\"UTF-8\"";
        return Results.StatusCode(StatusCodes.Status401Unauthorized);
    }
}
