using System.Net;
using System.Net.Sockets;
using GenerationWorker.Grains.Gemini;
using Microsoft.Extensions.DependencyInjection;

namespace GenerationWorker.Grains.Tests.Gemini;

/// <summary>Timeouts, cancellation and broken connections.</summary>
public sealed class GeminiTransportTests
{
    [Fact]
    public async Task NoAnswerWithinTheTimeout_IsRetryableWithoutStatus()
    {
        await using var server = await ReplayServer.StartAsync();
        server.Hold();
        using var client = new TestGeminiClient(server.BaseUrl, TimeSpan.FromMilliseconds(300));

        var outcome = await client.Client.GenerateImageAsync(TestGeminiClient.TextOnly("a fox"));

        var retryable = Assert.IsType<GeminiOutcome.Retryable>(outcome);
        Assert.Equal(0, retryable.StatusCode);
        Assert.Contains("No answer within 0.3 s", retryable.Message, StringComparison.Ordinal);
        Assert.Null(retryable.RetryDelay);
        Assert.Single(server.Requests);
    }

    [Fact]
    public async Task CallerCancellation_WhileWaiting_Throws()
    {
        await using var server = await ReplayServer.StartAsync();
        server.Hold();
        using var client = new TestGeminiClient(server.BaseUrl, TimeSpan.FromMinutes(5));
        using var cancellation = new CancellationTokenSource();

        var call = client.Client.GenerateImageAsync(TestGeminiClient.TextOnly("a fox"), cancellation.Token);
        await server.FirstRequest;
        await cancellation.CancelAsync();

        var exception = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        Assert.Equal(cancellation.Token, exception.CancellationToken);
    }

    [Fact]
    public async Task AlreadyCancelledCaller_ThrowsWithoutCalling()
    {
        await using var server = await ReplayServer.StartAsync();
        using var client = new TestGeminiClient(server.BaseUrl);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => client.Client.GenerateImageAsync(TestGeminiClient.TextOnly("a fox"), new CancellationToken(canceled: true)));

        Assert.Empty(server.Requests);
    }

    [Fact]
    public async Task ConnectionRefused_IsRetryableWithoutStatus()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new TestGeminiClient(new Uri($"http://127.0.0.1:{port}/"));

        var outcome = await client.Client.GenerateImageAsync(TestGeminiClient.TextOnly("a fox"));

        var retryable = Assert.IsType<GeminiOutcome.Retryable>(outcome);
        Assert.Equal(0, retryable.StatusCode);
        Assert.Contains("HttpRequestException", retryable.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionDroppedBeforeTheAnswer_IsRetryableWithoutStatus()
    {
        await using var server = await ReplayServer.StartAsync();
        server.AbortConnections();
        using var client = new TestGeminiClient(server.BaseUrl);

        var outcome = await client.Client.GenerateImageAsync(TestGeminiClient.TextOnly("a fox"));

        Assert.Equal(0, Assert.IsType<GeminiOutcome.Retryable>(outcome).StatusCode);
    }

    [Fact]
    public void Registration_TurnsOffTheHttpClientTimeout()
    {
        using var client = new TestGeminiClient(new Uri("http://127.0.0.1:1/"));

        var factory = client.Services.GetRequiredService<IHttpClientFactory>();
        using var http = factory.CreateClient(nameof(IGeminiClient));

        Assert.Equal(Timeout.InfiniteTimeSpan, http.Timeout);
        Assert.IsType<GeminiClient>(client.Client);
    }

    [Fact]
    public void Client_RefusesAnHttpClientThatWouldTimeOutFirst()
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(100) };
        var options = new GeminiOptions { ApiKey = TestGeminiClient.ApiKey, Timeout = TimeSpan.FromSeconds(300) };

        Assert.Throws<ArgumentException>(
            () => new GeminiClient(http, options, TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<GeminiClient>.Instance));
    }
}
