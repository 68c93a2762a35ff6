using System.Net;
using Askr.Cluster.Grpc;
using Askr.Cluster.Wire;
using Google.Protobuf;

namespace Askr.Tests.Cluster.Grpc;

/// <summary>
/// A <see cref="GrpcHost"/> on 127.0.0.1 and a free port, serving cluster.proto's methods with
/// fake handlers (secret <see cref="Secret"/>, request limit <see cref="MaxRequestBytes"/>):
/// <list type="bullet">
/// <item>Membership.Ping: Ack { from 7, the request's sequence, ok, the request's gossip };</item>
/// <item>Membership.Join: waits for its cancellation token (then sets <see cref="JoinCancelled"/>);</item>
/// <item>Membership.PingReq: ignores its token, waits for <see cref="ReleasePingReq"/>;</item>
/// <item>Membership.Leave: fails, PermissionDenied "refusé: 100% full", or with a plain exception when self.address is "boom";</item>
/// <item>Replication.Push: PushAck { applied = rows };</item>
/// <item>Replication.Repair: range_count rows keyed k0, k1, ...; table "fail-after-3" ends with DataLoss after 3 rows, "big" rows carry 4 KiB keys.</item>
/// </list>
/// </summary>
public sealed class GrpcTestHost : IAsyncLifetime
{
    public const string Secret = "s3cret";
    public const int MaxRequestBytes = 64 * 1024;
    public const string Membership = "askr.cluster.v1.Membership";
    public const string Replication = "askr.cluster.v1.Replication";

    private int _calls;
    private TaskCompletionSource _joinCancelled = NewSignal();
    private TaskCompletionSource _releasePingReq = NewSignal();

    public GrpcHost Host { get; private set; } = null!;
    public int Port => Host.Port;
    public Uri Address => new($"http://127.0.0.1:{Port}");
    public List<string> Log { get; } = [];

    /// <summary>How many times a handler ran, any method.</summary>
    public int HandlerCalls => Volatile.Read(ref _calls);

    public Task JoinCancelled => _joinCancelled.Task;

    public void ReleasePingReq() => _releasePingReq.TrySetResult();

    public void ResetSignals()
    {
        _joinCancelled = NewSignal();
        _releasePingReq = NewSignal();
    }

    public GrpcClient Client(string? secret = Secret, GrpcClientOptions? options = null) => new(Address, secret, options);

    public static GrpcHost Map(GrpcHost host, GrpcTestHost? state = null)
    {
        void Count() { if (state is not null) Interlocked.Increment(ref state._calls); }
        return host
            .MapUnary<PingMessage, Ack>(Membership, "Ping", (ping, _) =>
            {
                Count();
                return Task.FromResult(new Ack { From = 7, Sequence = ping.Sequence, Ok = true, Gossip = ping.Gossip });
            })
            .MapUnary<JoinRequest, JoinResponse>(Membership, "Join", async (_, context) =>
            {
                Count();
                try { await Task.Delay(Timeout.Infinite, context.CancellationToken); }
                finally { state?._joinCancelled.TrySetResult(); }
                return new JoinResponse();
            })
            .MapUnary<PingRequest, Ack>(Membership, "PingReq", async (request, _) =>
            {
                Count();
                if (state is not null) await state._releasePingReq.Task;
                return new Ack { From = 7, Sequence = request.Sequence };
            })
            .MapUnary<LeaveNotice, Ack>(Membership, "Leave", (leave, _) =>
            {
                Count();
                if (leave.Self?.Address == "boom") throw new InvalidOperationException("internal detail that must not leak");
                throw new GrpcCallException(GrpcStatusCode.PermissionDenied, "refusé: 100% full");
            })
            .MapUnary<DeltaBatch, PushAck>(Replication, "Push", (batch, _) =>
            {
                Count();
                return Task.FromResult(new PushAck { Applied = (uint)batch.Rows.Count });
            })
            .MapServerStreaming<RepairRequest, RowState>(Replication, "Repair", async (request, stream, _) =>
            {
                Count();
                for (var i = 0; i < request.RangeCount; i++)
                {
                    if (request.Table == "fail-after-3" && i == 3) throw new GrpcCallException(GrpcStatusCode.DataLoss, "range 3 is gone");
                    var key = request.Table == "big" ? new string('k', 4096) : "k" + i;
                    await stream.WriteAsync(Row(request.Table, key, i));
                }
            });
    }

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
        Host = Map(new GrpcHost(new IPEndPoint(IPAddress.Loopback, 0), new GrpcHostOptions
        {
            Secret = Secret,
            MaxReceiveMessageBytes = MaxRequestBytes,
            Log = line => { lock (Log) Log.Add(line); },
        }), this);
        await Host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        ReleasePingReq();
        await Host.DisposeAsync();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
