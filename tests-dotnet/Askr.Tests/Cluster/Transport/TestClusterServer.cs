using System.Net;
using Askr.Cluster.Transport;
using Askr.Cluster.Wire;
using Google.Protobuf;
using Grpc.Core;

namespace Askr.Tests.Cluster.Transport;

/// <summary>
/// askr's <see cref="ClusterServer"/> on 127.0.0.1 and a free port (secret <see cref="Secret"/>,
/// request limit <see cref="MaxRequestBytes"/>), serving cluster.proto's services with fake handlers:
/// <list type="bullet">
/// <item>Membership.Ping: Ack { from 7, the request's sequence, ok, the request's gossip };</item>
/// <item>Membership.Join: sets <see cref="JoinStarted"/>, waits for its cancellation token, then sets <see cref="JoinCancelled"/>;</item>
/// <item>Membership.PingReq: ignores its token, waits for <see cref="ReleasePingReq"/>;</item>
/// <item>Membership.Leave: fails, PermissionDenied "refusé: 100% full", or with a plain exception when self.address is "boom";</item>
/// <item>Replication.Push: PushAck { applied = rows };</item>
/// <item>Replication.Digest: not overridden (the generated base answers Unimplemented);</item>
/// <item>Replication.Repair: range_count rows keyed k0, k1, ...; table "fail-after-3" ends with DataLoss after 3 rows, "big" rows carry 4 KiB keys.</item>
/// </list>
/// </summary>
public sealed class TestClusterServer : IAsyncLifetime
{
    public const string Secret = "s3cret-of-the-test-cluster";
    public const int MaxRequestBytes = 64 * 1024;

    private readonly List<string> _log = [];
    private int _calls;
    private TaskCompletionSource _joinStarted = NewSignal();
    private TaskCompletionSource _joinCancelled = NewSignal();
    private TaskCompletionSource _releasePingReq = NewSignal();

    internal ClusterServer Server { get; private set; } = null!;
    public int Port => Server.Port;
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>The server's log lines so far (its <see cref="ClusterServerOptions.Log"/>).</summary>
    public List<string> Log()
    {
        lock (_log) return [.. _log];
    }

    /// <summary>How many times a handler ran, any method.</summary>
    public int HandlerCalls => Volatile.Read(ref _calls);

    public Task JoinStarted => _joinStarted.Task;

    public Task JoinCancelled => _joinCancelled.Task;

    public void ReleasePingReq() => _releasePingReq.TrySetResult();

    public void ResetSignals()
    {
        _joinStarted = NewSignal();
        _joinCancelled = NewSignal();
        _releasePingReq = NewSignal();
    }

    /// <summary>Askr's client side (<see cref="PeerChannels"/>) with <paramref name="secret"/>; dispose it.</summary>
    internal static PeerChannels Channels(string? secret = Secret, int maxReceiveMessageBytes = 4 * 1024 * 1024) =>
        new(new PeerChannelOptions { Secret = secret, MaxReceiveMessageBytes = maxReceiveMessageBytes });

    /// <summary>Starts a server with these fake services on <paramref name="endpoint"/> (default: 127.0.0.1, a free port).</summary>
    internal static Task<ClusterServer> StartAsync(TestClusterServer? state, ClusterServerOptions options) =>
        StartAsync(state, options, new IPEndPoint(IPAddress.Loopback, 0));

    internal static Task<ClusterServer> StartAsync(TestClusterServer? state, ClusterServerOptions options, IPEndPoint endpoint) =>
        ClusterServer.StartAsync(endpoint, options, new FakeMembership(state), new FakeReplication(state));

    public static RowState Row(string table, string key, long clock) => new()
    {
        Table = table,
        Key = ByteString.CopyFromUtf8(key),
        Clock = clock,
        Origin = 7,
        Columns = { new ColumnState { Index = 0, SetClock = clock, IntValue = -clock } },
    };

    public async Task InitializeAsync()
    {
        Server = await StartAsync(this, new ClusterServerOptions
        {
            Secret = Secret,
            MaxReceiveMessageBytes = MaxRequestBytes,
            Log = (_, line) => { lock (_log) _log.Add(line); },
        });
    }

    public async Task DisposeAsync()
    {
        ReleasePingReq();
        await Server.DisposeAsync();
    }

    private void Count() => Interlocked.Increment(ref _calls);

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class FakeMembership(TestClusterServer? state) : Membership.MembershipBase
    {
        public override Task<Ack> Ping(PingMessage request, ServerCallContext context)
        {
            state?.Count();
            return Task.FromResult(new Ack { From = 7, Sequence = request.Sequence, Ok = true, Gossip = request.Gossip });
        }

        public override async Task<JoinResponse> Join(JoinRequest request, ServerCallContext context)
        {
            state?.Count();
            state?._joinStarted.TrySetResult();
            try { await Task.Delay(Timeout.Infinite, context.CancellationToken); }
            finally { state?._joinCancelled.TrySetResult(); }
            return new JoinResponse();
        }

        public override async Task<Ack> PingReq(PingRequest request, ServerCallContext context)
        {
            state?.Count();
            if (state is not null) await state._releasePingReq.Task;
            return new Ack { From = 7, Sequence = request.Sequence };
        }

        public override Task<Ack> Leave(LeaveNotice request, ServerCallContext context)
        {
            state?.Count();
            if (request.Self?.Address == "boom") throw new InvalidOperationException("internal detail that must not leak");
            throw new RpcException(new Status(StatusCode.PermissionDenied, "refusé: 100% full"));
        }
    }

    private sealed class FakeReplication(TestClusterServer? state) : Replication.ReplicationBase
    {
        public override Task<PushAck> Push(DeltaBatch request, ServerCallContext context)
        {
            state?.Count();
            return Task.FromResult(new PushAck { Applied = (uint)request.Rows.Count });
        }

        public override async Task Repair(RepairRequest request, IServerStreamWriter<RowState> responseStream, ServerCallContext context)
        {
            state?.Count();
            for (var i = 0; i < request.RangeCount; i++)
            {
                if (request.Table == "fail-after-3" && i == 3) throw new RpcException(new Status(StatusCode.DataLoss, "range 3 is gone"));
                var key = request.Table == "big" ? new string('k', 4096) : "k" + i;
                await responseStream.WriteAsync(Row(request.Table, key, i));
            }
        }
    }
}
