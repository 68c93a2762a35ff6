using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Askr.Tables;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Askr.Resp;

/// <summary>
/// The node's RESP endpoint: a Redis-protocol (RESP2) server over the tables of a
/// <see cref="TableStore"/>, hosted by the supervisor (docs/resp.md). Connections come from
/// Kestrel's socket transport (pooled buffers, System.IO.Pipelines) without the HTTP stack; each
/// runs a <see cref="RespSession"/>. Bind it to loopback unless a password is set.
/// </summary>
internal sealed class RespServer : IAsyncDisposable
{
    private readonly IPEndPoint _endpoint;
    private readonly byte[]? _password;
    private readonly ConcurrentDictionary<long, (ConnectionContext Connection, Task Run)> _sessions = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object[] _cacheLocks = Enumerable.Range(0, 64).Select(_ => new object()).ToArray();
    private IConnectionListener? _listener;
    private Task _acceptLoop = Task.CompletedTask;
    private long _nextId;
    private int _collecting;

    /// <param name="store">The tables to serve; it must outlive the server.</param>
    /// <param name="endpoint">Where to listen; port 0 picks a free port (see <see cref="Port"/>).</param>
    /// <param name="password">When set, clients must AUTH with it (user "default") before other commands.</param>
    /// <param name="log">One line per notable event (start, stop, a connection that failed unexpectedly).</param>
    /// <param name="limits">Protocol limits; <see cref="RespLimits.Default"/> if null.</param>
    public RespServer(TableStore store, IPEndPoint endpoint, string? password, Action<string> log, RespLimits? limits = null)
    {
        Keyspace = new RespKeyspace(store);
        _endpoint = endpoint;
        _password = string.IsNullOrEmpty(password) ? null : Encoding.UTF8.GetBytes(password);
        Log = log;
        Limits = limits ?? RespLimits.Default;
    }

    /// <summary>The port actually bound, once <see cref="StartAsync"/> has returned.</summary>
    public int Port { get; private set; }
    internal RespKeyspace Keyspace { get; }
    internal RespLimits Limits { get; }
    internal Action<string> Log { get; }
    internal bool RequiresPassword => _password is not null;
    internal int ConnectedClients => _sessions.Count;
    internal DateTime StartedAt { get; } = DateTime.UtcNow;

    /// <summary>Binds the endpoint and starts accepting connections.</summary>
    /// <exception cref="System.Net.Sockets.SocketException">when the endpoint cannot be bound (e.g. the port is taken).</exception>
    public async Task StartAsync()
    {
        var options = new SocketTransportOptions
        {
            // A command is parsed only once it is whole, so the transport must buffer one whole command.
            MaxReadBufferSize = Limits.MaxCommandBytes + 64 * 1024,
            // Sessions never block (table locks are held for a row copy), so run them on the I/O threads.
            UnsafePreferInlineScheduling = true,
            // Receive straight into a pooled buffer. The default first waits for data with a
            // zero-byte receive, which .NET does as a 1-byte MSG_PEEK recv: one system call more
            // per read (per command when not pipelined), to save a 4 KB buffer per idle connection.
            WaitForDataBeforeAllocatingBuffer = false,
        };
        var factory = new SocketTransportFactory(Options.Create(options), NullLoggerFactory.Instance);
        _listener = await factory.BindAsync(_endpoint);
        Port = (_listener.EndPoint as IPEndPoint)?.Port ?? _endpoint.Port;
        _acceptLoop = AcceptLoopAsync(_listener);
        Log($"resp: listening on {_endpoint.Address}:{Port}{(RequiresPassword ? " (password required)" : "")}");
    }

    private async Task AcceptLoopAsync(IConnectionListener listener)
    {
        while (!_stopping.IsCancellationRequested)
        {
            ConnectionContext? connection;
            try
            {
                connection = await listener.AcceptAsync(_stopping.Token);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            catch (Exception e)
            {
                Log($"resp: accept failed: {e.Message}");
                continue;
            }
            if (connection is null) break; // unbound
            var id = Interlocked.Increment(ref _nextId);
            var session = new RespSession(this, connection, id);
            var run = Task.Run(session.RunAsync);
            _sessions[id] = (connection, run);
            _ = run.ContinueWith(_ => _sessions.TryRemove(id, out var _), TaskScheduler.Default);
        }
    }

    /// <summary>
    /// Redis' protected mode, at start: an endpoint on an address other than loopback without a
    /// password would let anyone who reaches it read, overwrite and FLUSHALL the tables. Null when
    /// the combination is fine (loopback, a password, or protected mode turned off on purpose);
    /// otherwise the reason to refuse it, naming the ways out.
    /// </summary>
    internal static string? ProtectedModeRefusal(IPAddress address, string? password, bool protectedMode)
    {
        if (!protectedMode || !string.IsNullOrEmpty(password) || IPAddress.IsLoopback(address)) return null;
        return $"--resp-host {address} is not a loopback address and no RESP password is set: any client that reaches it could read, " +
               "overwrite and FLUSHALL the tables. Set --resp-password (or ASKR_RESP_PASSWORD), bind --resp-host 127.0.0.1, " +
               "or pass --resp-protected-mode no to serve it unprotected on purpose (Redis' protected mode)";
    }

    /// <summary>
    /// Gives the memory of a dropped reply back to the system after a client was closed for its
    /// output buffer limit: up to the limit (256 MB by default) was built, and the GC would keep
    /// it committed (measured: RSS 47 → 378 MB, still 378 MB seconds later) until a full
    /// collection that an idle supervisor may never run. One aggressive, compacting collection
    /// off the session's thread, at most one at a time; rare by construction (a client asked for
    /// a reply past the limit).
    /// </summary>
    internal void ReleaseMemory()
    {
        if (Interlocked.Exchange(ref _collecting, 1) == 1) return;
        _ = Task.Run(() =>
        {
            try { GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true); }
            finally { Volatile.Write(ref _collecting, 0); }
        });
    }

    /// <summary>Compares a password in constant time.</summary>
    internal bool PasswordMatches(ReadOnlySpan<byte> candidate) =>
        _password is not null && CryptographicOperations.FixedTimeEquals(candidate, _password);

    /// <summary>
    /// A lock for read-modify-write commands on a cache key (INCR and the like), striped by key:
    /// makes them atomic among RESP clients of this node. Octane's own increment (get, then put)
    /// takes no lock, so against PHP writers the last write wins, as it does in Octane.
    /// </summary>
    internal object CacheLock(ReadOnlySpan<byte> key) => _cacheLocks[(int)(SharedTable.Hash(key) & 63)];

    /// <summary>Stops accepting, closes every connection and waits (up to 2 s) for the sessions to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        if (_listener is not null)
        {
            try { await _listener.UnbindAsync(); } catch (Exception e) { Log($"resp: unbind failed: {e.Message}"); }
        }
        try { await _acceptLoop; } catch (Exception) { }
        foreach (var (_, (connection, _)) in _sessions)
        {
            try { connection.Abort(new ConnectionAbortedException("server stopping")); } catch (Exception) { }
        }
        try { await Task.WhenAll(_sessions.Values.Select(s => s.Run)).WaitAsync(TimeSpan.FromSeconds(2)); }
        catch (Exception) { }
        if (_listener is not null)
        {
            try { await _listener.DisposeAsync(); } catch (Exception) { }
        }
        _stopping.Dispose();
    }
}
