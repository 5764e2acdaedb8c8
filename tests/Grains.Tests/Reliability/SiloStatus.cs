using System.Net.Http.Json;
using System.Text.Json;

namespace GenerationWorker.Grains.Tests.Reliability;

/// <summary>Reads a silo's /status and /health as an operator would.</summary>
internal static class SiloStatus
{
    private static readonly HttpClient Http = new()
    {
        Timeout = TimeSpan.FromSeconds(10),
        DefaultRequestHeaders = { Authorization = GenerationWorker.TestSupport.WorkerSilo.OperatorAuthorization() },
    };

    /// <summary>The job ids /status lists in flight.</summary>
    public static async Task<IReadOnlyList<string>> InFlightAsync(Uri httpBase)
    {
        var status = await Http.GetFromJsonAsync<JsonElement>(new Uri(httpBase, "status"));
        return [.. status.GetProperty("inFlight").EnumerateArray().Select(e => e.GetString()!)];
    }

    /// <summary>The silo identity /status reports (its locked_by value).</summary>
    public static async Task<string> IdentityAsync(Uri httpBase)
    {
        var status = await Http.GetFromJsonAsync<JsonElement>(new Uri(httpBase, "status"));
        return status.GetProperty("silo").GetString()!;
    }

    /// <summary>/health's status code and body, or (0, error) when the silo does not answer.</summary>
    public static async Task<(int Code, string Body)> HealthAsync(Uri httpBase)
    {
        try
        {
            using var response = await Http.GetAsync(new Uri(httpBase, "health"));
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException exception)
        {
            return (0, exception.Message);
        }
        catch (TaskCanceledException exception)
        {
            return (0, exception.Message);
        }
    }
}
