using System.Net;
using System.Net.Http.Headers;
using System.Text;
using GenerationWorker.TestSupport;

namespace GenerationWorker.Silo.Tests.Hosting;

/// <summary>Two silo processes, each its own cluster: one with dashboard credentials, one without.</summary>
public sealed class DashboardFixture : SiloProcessFixture
{
    /// <summary>The user name the protected silo expects.</summary>
    public const string Username = "ops";

    /// <summary>The password the protected silo expects.</summary>
    public const string Password = "correct horse: battery";

    /// <summary>The silo started with DASHBOARD_USERNAME and DASHBOARD_PASSWORD.</summary>
    public SiloProcess Protected { get; private set; } = null!;

    /// <summary>The silo started without them.</summary>
    public SiloProcess Plain { get; private set; } = null!;

    /// <inheritdoc />
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Protected = await StartSiloAsync(new Dictionary<string, string?>
        {
            ["DASHBOARD_USERNAME"] = Username,
            ["DASHBOARD_PASSWORD"] = Password,
        });
        Plain = await StartSiloAsync(new Dictionary<string, string?>
        {
            ["ORLEANS_CLUSTER_ID"] = ClusterId + "-plain",
            ["DASHBOARD_USERNAME"] = null,
            ["DASHBOARD_PASSWORD"] = null,
        });
    }
}

/// <summary>The dashboard of a real silo process: Basic auth with credentials, absent without.</summary>
[Collection(SiloProcessCollection.Name)]
public sealed class DashboardTests(DashboardFixture fixture) : IClassFixture<DashboardFixture>
{
    public static TheoryData<string> Paths => ["dashboard", "dashboard/", "dashboard/index.min.js", "dashboard/ClusterStats", "Dashboard/version"];

    [Theory]
    [MemberData(nameof(Paths))]
    public async Task WithoutCredentials_Is401WithAChallenge(string path)
    {
        using var response = await fixture.Protected.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        var challenge = Assert.Single(response.Headers.WwwAuthenticate);
        Assert.Equal("Basic", challenge.Scheme);
    }

    [Theory]
    [InlineData("dashboard", DashboardFixture.Username, "wrong")]
    [InlineData("dashboard/ClusterStats", "admin", DashboardFixture.Password)]
    [InlineData("dashboard/ClusterStats", DashboardFixture.Username, DashboardFixture.Password + "x")]
    [InlineData("dashboard/ClusterStats", DashboardFixture.Username, "")]
    public async Task WithWrongCredentials_Is401WithAChallenge(string path, string username, string password)
    {
        using var response = await SendAsync(fixture.Protected, path, Basic(username, password));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Basic", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Theory]
    [InlineData("Bearer c2VjcmV0")]
    [InlineData("Basic !!not-base64!!")]
    [InlineData("Basic")]
    public async Task WithAMalformedAuthorizationHeader_Is401(string header)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "dashboard");
        request.Headers.TryAddWithoutValidation("Authorization", header);
        using var response = await fixture.Protected.Http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("dashboard/", "text/html")]
    [InlineData("dashboard/index.min.js", "javascript")]
    [InlineData("dashboard/ClusterStats", "application/json")]
    public async Task WithTheCredentials_Is200(string path, string contentType)
    {
        using var response = await SendAsync(fixture.Protected, path, Basic(DashboardFixture.Username, DashboardFixture.Password));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(contentType, response.Content.Headers.ContentType?.MediaType ?? "", StringComparison.Ordinal);
        Assert.NotEmpty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task WithTheCredentials_TheBarePrefixRedirectsToTheIndex()
    {
        using var response = await SendAsync(fixture.Protected, "dashboard", Basic(DashboardFixture.Username, DashboardFixture.Password));

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("/dashboard/", response.Headers.Location?.OriginalString);
    }

    [Fact]
    public async Task Health_NeedsNoCredentials()
    {
        using var health = await fixture.Protected.Http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Theory]
    [InlineData("status")]
    [InlineData("cluster")]
    public async Task StatusAndCluster_NeedTheDashboardCredentials_AndAreAbsentWithoutThem(string path)
    {
        using var anonymous = await fixture.Protected.Http.GetAsync(path);
        using var wrong = await SendAsync(fixture.Protected, path, Basic(DashboardFixture.Username, "not the password"));
        using var granted = await SendAsync(fixture.Protected, path, Basic(DashboardFixture.Username, DashboardFixture.Password));
        using var plain = await fixture.Plain.Http.GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Basic", Assert.Single(anonymous.Headers.WwwAuthenticate).Scheme);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Equal(HttpStatusCode.OK, granted.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, plain.StatusCode);
    }

    [Theory]
    [InlineData("dashboard")]
    [InlineData("dashboard/ClusterStats")]
    [InlineData("dashboard/index.min.js")]
    public async Task WithoutTheVariables_IsNotServed(string path)
    {
        using var anonymous = await fixture.Plain.Http.GetAsync(path);
        using var withCredentials = await SendAsync(fixture.Plain, path, Basic(DashboardFixture.Username, DashboardFixture.Password));

        Assert.Equal(HttpStatusCode.NotFound, anonymous.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, withCredentials.StatusCode);
        Assert.Empty(anonymous.Headers.WwwAuthenticate);
    }

    private static AuthenticationHeaderValue Basic(string username, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")));

    private static Task<HttpResponseMessage> SendAsync(SiloProcess silo, string path, AuthenticationHeaderValue authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = authorization;
        return silo.Http.SendAsync(request);
    }
}
