using System.Net;
using System.Net.Sockets;
using GenerationWorker.Grains;
using GenerationWorker.Silo.Configuration;
using GenerationWorker.Silo.Operators;
using Orleans.Configuration;
using Orleans.Dashboard;

namespace GenerationWorker.Silo.Hosting;

/// <summary>Composes the silo host: Orleans clustered through Postgres, the worker, the dashboard.</summary>
public static class SiloHostingExtensions
{
    /// <summary>The service id every silo of every cluster of this service shares (grain storage is keyed by it).</summary>
    public const string ServiceId = "generation-worker";

    /// <summary>Adds the Orleans silo and the worker to <paramref name="builder"/>, on the connections of <paramref name="roles"/>.</summary>
    public static WebApplicationBuilder AddGenerationWorkerSilo(this WebApplicationBuilder builder, ServiceSettings settings, DatabaseRoles roles)
    {
        // The providers' statements set no session state either (and are never prepared): no DISCARD ALL before each
        // one, and they run unchanged through a transaction-mode pooler.
        var orleansConnectionString = new Npgsql.NpgsqlConnectionStringBuilder(roles.Orleans) { NoResetOnClose = true }.ConnectionString;
        builder.Logging.AddWorkerConsole(settings.LogFormat, settings.Silo.WorkerId);
        builder.Services.AddWorkerTelemetry(settings.OtlpEndpoint);
        builder.WebHost.UseUrls($"http://[::]:{settings.Silo.HttpPort}");
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = settings.Worker.ShutdownTimeout + TimeSpan.FromSeconds(30));
        builder.Services.AddGenerationWorker(
            roles.Jobs, roles.Listen, settings.Worker, settings.Quota, settings.Gemini, settings.Storage);
        builder.Services.AddJobsOverview();
        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = settings.Silo.ClusterId;
                o.ServiceId = ServiceId;
            });
            silo.UseAdoNetClustering(o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = orleansConnectionString;
            });
            silo.AddAdoNetGrainStorage("quota", o =>
            {
                o.Invariant = "Npgsql";
                o.ConnectionString = orleansConnectionString;
            });
            var advertised = settings.Silo.AdvertisedIp;
            // The silo port listens on the advertised (private) address only. The client gateway serves no one (no
            // Orleans client connects): off unless GATEWAY_PORT is set, and then on loopback only.
            silo.Configure<EndpointOptions>(o =>
            {
                o.AdvertisedIPAddress = advertised;
                o.SiloPort = settings.Silo.SiloPort;
                o.SiloListeningEndpoint = new IPEndPoint(advertised, settings.Silo.SiloPort);
                o.GatewayPort = settings.Silo.GatewayPort;
                o.GatewayListeningEndpoint = settings.Silo.GatewayPort == 0
                    ? null
                    : new IPEndPoint(advertised.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Loopback : IPAddress.Loopback, settings.Silo.GatewayPort);
            });
            // Silos probe each other every second and declare a killed one dead after 2 missed probes: about 1-2 s
            // instead of the default ~20 s (measured: see README). Probes do not touch the database; the table is
            // re-read every 10 s (changes also travel by gossip). Heartbeats every 10 s. A silo that died with no
            // peer left to declare it (a lone replica restarting) is declared dead by its successor while it joins
            // (CrashedSiloEviction), instead of after Orleans' three missed heartbeats (20-30 s).
            silo.Configure<ClusterMembershipOptions>(o =>
            {
                o.ProbeTimeout = TimeSpan.FromSeconds(1);
                o.NumMissedProbesLimit = 2;
                o.TableRefreshTimeout = TimeSpan.FromSeconds(10);
                o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(10);
                o.DeathVoteExpirationTimeout = TimeSpan.FromSeconds(30);
            });
            silo.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, CrashedSiloEviction>();
            if (settings.Silo.DashboardEnabled)
            {
                silo.AddDashboard();
            }
        });
        return builder;
    }
}
