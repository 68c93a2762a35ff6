using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using Askr.Tables;
using Microsoft.AspNetCore.Connections;

namespace Askr.Resp;

/// <summary>
/// One client connection: reads what has arrived, parses and executes every whole command in it,
/// writes all their replies, then flushes once, so a pipeline of N commands costs one read and one
/// write. Commands run synchronously on the connection's thread; only reading and flushing wait.
/// Split by command family: RespSession.Strings.cs (the cache table), .Hashes.cs (table rows),
/// .Keys.cs (keyspace), .Server.cs (connection and server).
/// </summary>
internal sealed partial class RespSession
{
    private readonly RespServer _server;
    private readonly RespKeyspace _keyspace;
    private readonly RespLimits _limits;
    private readonly ConnectionContext _connection;
    private readonly RespArgs _args = new();
    /// <summary>One row buffer per table, made on first use (RowBuffer is not thread-safe: one per session).</summary>
    private readonly RowBuffer?[] _rows;
    /// <summary>A command that straddles the input's segments, copied into one span.</summary>
    private byte[] _frame = [];
    /// <summary>Input length below which the pending partial command cannot complete.</summary>
    private long _needed;
    private bool _authenticated;
    /// <summary>Set by a refused MULTI: the commands queued after it are refused too, until EXEC or DISCARD.</summary>
    private bool _refusedMulti;
    /// <summary>Now in Unix seconds for the batch being processed; 0 until read (see <see cref="NowSeconds"/>).</summary>
    private long _now;

    public RespSession(RespServer server, ConnectionContext connection, long id)
    {
        _server = server;
        _keyspace = server.Keyspace;
        _limits = server.Limits;
        _connection = connection;
        _rows = new RowBuffer?[_keyspace.Tables.Length];
        _authenticated = !server.RequiresPassword;
        Id = id;
    }

    public long Id { get; }
    public string? Name { get; private set; }

    public async Task RunAsync()
    {
        var input = _connection.Transport.Input;
        var output = _connection.Transport.Output;
        var overLimit = false;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync();
                var buffer = result.Buffer;
                var open = Process(ref buffer, output, out var wrote, out var paused);
                // Paused with whole commands left: examine nothing more, so the next read returns
                // them at once, after the flush below has waited for the client to take the replies.
                if (paused) input.AdvanceTo(buffer.Start);
                else input.AdvanceTo(buffer.Start, buffer.End);
                if (wrote)
                {
                    var flush = await output.FlushAsync();
                    if (flush.IsCompleted) break;
                }
                if (!open || (!paused && (result.IsCompleted || result.IsCanceled))) break;
            }
        }
        catch (RespOutputLimitException e)
        {
            // Redis' client-output-buffer-limit: the client is closed, the replies not yet sent dropped.
            _server.Log($"resp: closed connection {Id} from {_connection.RemoteEndPoint}: {e.Message}");
            try { _connection.Abort(new ConnectionAbortedException(e.Message)); } catch (Exception) { }
            overLimit = true;
        }
        catch (ConnectionResetException) { }
        catch (ConnectionAbortedException) { }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        catch (Exception e)
        {
            _server.Log($"resp: connection {Id} from {_connection.RemoteEndPoint} failed: {e}");
        }
        finally
        {
            try { await input.CompleteAsync(); } catch (Exception) { }
            try { await output.CompleteAsync(); } catch (Exception) { }
            try { await _connection.DisposeAsync(); } catch (Exception) { }
            foreach (var row in _rows) row?.Dispose();
        }
        if (overLimit) _server.ReleaseMemory(); // the dropped reply's buffers, now unreferenced
    }

    /// <summary>As <see cref="Process(ref ReadOnlySequence{byte}, IBufferWriter{byte}, out bool, out bool)"/>, for callers that do not pause.</summary>
    internal bool Process(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out bool wrote) =>
        Process(ref buffer, output, out wrote, out _);

    /// <summary>
    /// Executes the whole commands at the start of <paramref name="buffer"/>, leaving it at the
    /// first byte not consumed. False when the connection must close (QUIT, a protocol error).
    /// Stops early, with <paramref name="paused"/> set, once the replies reach
    /// <see cref="RespLimits.FlushBytes"/>: the caller flushes them and waits for the socket before
    /// running the rest, so a client that pipelines without reading makes the session wait instead
    /// of piling up replies (a GET of a 10 KB value is a 30-byte request).
    /// </summary>
    /// <exception cref="RespOutputLimitException">when one reply would pass <see cref="RespLimits.MaxOutputBytes"/>.</exception>
    internal bool Process(ref ReadOnlySequence<byte> buffer, IBufferWriter<byte> output, out bool wrote, out bool paused)
    {
        var w = new RespWriter(output, _limits.MaxOutputBytes);
        var flushBytes = _limits.FlushBytes;
        var open = true;
        paused = false;
        _now = 0;
        while (open && !buffer.IsEmpty && buffer.Length >= _needed)
        {
            // The usual case: whole commands within the first segment, parsed in place, the
            // buffer sliced once after them (slicing a sequence per command cost more than parsing).
            var span = buffer.FirstSpan;
            var pos = 0;
            while (pos < span.Length)
            {
                var input = span[pos..];
                if (RespParser.TryParseCommand(input, _limits, _args, out var length, out _, out _) != RespParseStatus.Complete) break;
                open = Execute(new RespCommand(input, _args), ref w);
                pos += length;
                if (!open) break;
                if (w.Written >= flushBytes)
                {
                    paused = true;
                    break;
                }
            }
            if (pos > 0)
            {
                _needed = 0;
                buffer = buffer.Slice(pos);
                if (!open || paused || buffer.IsEmpty) break;
            }
            // A command not whole in the first segment: it straddles segments (parsed from a
            // copy), is incomplete (wait for the length the parser asks for) or is invalid.
            var status = RespParser.TryParseCommand(buffer, _limits, _args, ref _frame, out var frame, out var consumed, out var needed, out var error);
            if (status == RespParseStatus.Incomplete)
            {
                _needed = needed;
                break;
            }
            if (status == RespParseStatus.Invalid)
            {
                // The stream cannot be resynchronised: say why, then close (Redis does the same).
                w.WriteError("ERR Protocol error: " + error);
                open = false;
                break;
            }
            open = Execute(new RespCommand(frame, _args), ref w);
            if (_frame.Length > 1024 * 1024) _frame = []; // do not keep a large command's copy
            _needed = 0;
            buffer = buffer.Slice(consumed);
            if (open && w.Written >= flushBytes)
            {
                paused = true;
                break;
            }
        }
        paused &= open && !buffer.IsEmpty;
        w.Commit();
        wrote = w.Written > 0;
        return open;
    }

    /// <summary>Runs one command, writing its reply. False when the connection must close.</summary>
    private bool Execute(in RespCommand cmd, ref RespWriter w)
    {
        if (cmd.Count == 0) return true; // an empty array or blank line: Redis ignores it
        if (!RespCommands.TryFind(cmd[0], out var command))
        {
            UnknownCommand(cmd, ref w);
            return true;
        }
        if (!RespCommands.ArityOk(command.Arity, cmd.Count))
        {
            w.WriteError($"ERR wrong number of arguments for '{command.Name}' command");
            return true;
        }
        if (!_authenticated && command.Id is not (RespCommandId.Auth or RespCommandId.Hello or RespCommandId.Quit))
        {
            w.WriteRaw("-NOAUTH Authentication required.\r\n"u8);
            return true;
        }
        if (_refusedMulti && !EndsRefusedMulti(command.Id))
        {
            RefuseInMulti(command, ref w);
            return true;
        }
        RespCommands.CountExecuted(command.Id);
        switch (command.Id)
        {
            case RespCommandId.Get: Get(cmd, ref w); break;
            case RespCommandId.Set: Set(cmd, ref w); break;
            case RespCommandId.HGet: HGet(cmd, ref w); break;
            case RespCommandId.HSet: HSet(cmd, ref w, hmset: false); break;
            case RespCommandId.HMSet: HSet(cmd, ref w, hmset: true); break;
            case RespCommandId.MGet: MGet(cmd, ref w); break;
            case RespCommandId.MSet: MSet(cmd, ref w); break;
            case RespCommandId.Incr: IncrementBy(cmd, 1, ref w); break;
            case RespCommandId.Decr: IncrementBy(cmd, -1, ref w); break;
            case RespCommandId.IncrBy: IncrementBy(cmd, 0, ref w); break;
            case RespCommandId.DecrBy: IncrementBy(cmd, 0, ref w, negate: true); break;
            case RespCommandId.Ttl: Ttl(cmd, ref w, milliseconds: false); break;
            case RespCommandId.Pttl: Ttl(cmd, ref w, milliseconds: true); break;
            case RespCommandId.HGetAll: HGetAll(cmd, ref w); break;
            case RespCommandId.HMGet: HMGet(cmd, ref w); break;
            case RespCommandId.HIncrBy: HIncrBy(cmd, ref w); break;
            case RespCommandId.HIncrByFloat: HIncrByFloat(cmd, ref w); break;
            case RespCommandId.HDel: HDel(cmd, ref w); break;
            case RespCommandId.HExists: HExists(cmd, ref w); break;
            case RespCommandId.HLen: HLen(cmd, ref w); break;
            case RespCommandId.HKeys: HKeysOrVals(cmd, ref w, keys: true); break;
            case RespCommandId.HVals: HKeysOrVals(cmd, ref w, keys: false); break;
            case RespCommandId.HStrLen: HStrLen(cmd, ref w); break;
            case RespCommandId.HScan: HScan(cmd, ref w); break;
            case RespCommandId.Del:
            case RespCommandId.Unlink: Del(cmd, ref w); break;
            case RespCommandId.Exists: Exists(cmd, ref w); break;
            case RespCommandId.Type: KeyType(cmd, ref w); break;
            case RespCommandId.Scan: Scan(cmd, ref w); break;
            case RespCommandId.Keys: Keys(cmd, ref w); break;
            case RespCommandId.DbSize: w.WriteInteger(_keyspace.Tables.Sum(t => (long)t.Table.Count)); break;
            case RespCommandId.FlushDb:
            case RespCommandId.FlushAll: Flush(cmd, ref w); break;
            case RespCommandId.Ping: Ping(cmd, ref w); break;
            case RespCommandId.Echo: w.WriteBulk(cmd[1]); break;
            case RespCommandId.Quit: w.WriteOk(); return false;
            case RespCommandId.Auth: Auth(cmd, ref w); break;
            case RespCommandId.Hello: Hello(cmd, ref w); break;
            case RespCommandId.Select: Select(cmd, ref w); break;
            case RespCommandId.Command: CommandCommand(cmd, ref w); break;
            case RespCommandId.Info: Info(cmd, ref w); break;
            case RespCommandId.Client: Client(cmd, ref w); break;
            case RespCommandId.Config: Config(cmd, ref w); break;
            case RespCommandId.Time: Time(ref w); break;
            case RespCommandId.SetEx: SetEx(cmd, ref w, milliseconds: false); break;
            case RespCommandId.PSetEx: SetEx(cmd, ref w, milliseconds: true); break;
            case RespCommandId.SetNx: w.WriteError("ERR SETNX is not supported here (a table row has no conditional write)"); break;
            case RespCommandId.Cluster: w.WriteError("ERR This instance has cluster support disabled"); break;
            case RespCommandId.Expire: Expire(cmd, ref w, ExpireForm.Seconds); break;
            case RespCommandId.PExpire: Expire(cmd, ref w, ExpireForm.Milliseconds); break;
            case RespCommandId.ExpireAt: Expire(cmd, ref w, ExpireForm.UnixSeconds); break;
            case RespCommandId.PExpireAt: Expire(cmd, ref w, ExpireForm.UnixMilliseconds); break;
            case RespCommandId.Persist: Persist(cmd, ref w); break;
            case RespCommandId.ExpireTime: ExpireTime(cmd, ref w, milliseconds: false); break;
            case RespCommandId.PExpireTime: ExpireTime(cmd, ref w, milliseconds: true); break;
            case RespCommandId.Multi: Multi(ref w); break;
            case RespCommandId.Exec: Exec(ref w); break;
            case RespCommandId.Discard: Discard(ref w); break;
            case RespCommandId.Watch: w.WriteError("ERR WATCH is not supported here: askr has no transactions (docs/resp.md)"); break;
            case RespCommandId.Unwatch: w.WriteOk(); break; // nothing is ever watched
            case RespCommandId.Subscribe:
            case RespCommandId.PSubscribe:
            case RespCommandId.SSubscribe:
            case RespCommandId.Unsubscribe:
            case RespCommandId.PUnsubscribe:
            case RespCommandId.SUnsubscribe:
            case RespCommandId.Publish:
            case RespCommandId.SPublish:
            case RespCommandId.PubSub: PubSubRefused(command, ref w); break;
            default: UnknownCommand(cmd, ref w); break;
        }
        return true;
    }

    /// <summary>
    /// Now in Unix seconds (the cache table's clock), read once per batch of commands, as Redis
    /// reads it once per event-loop turn: reading the real-time clock cost a fifth of a GET.
    /// </summary>
    private long NowSeconds() => _now != 0 ? _now : _now = RespKeyspace.NowSeconds();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private RowBuffer Row(RespTable table) => _rows[table.Id] ?? NewRow(table);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private RowBuffer NewRow(RespTable table) => _rows[table.Id] = new RowBuffer(table.Schema);

    /// <summary>Redis' reply to an unknown command: its name and the first arguments, each cut at 128 bytes.</summary>
    private static void UnknownCommand(in RespCommand cmd, ref RespWriter w)
    {
        var text = new System.Text.StringBuilder("ERR unknown command '").Append(Text(cmd[0], 128)).Append("', with args beginning with: ");
        for (var i = 1; i < cmd.Count && text.Length < 256; i++) text.Append('\'').Append(Text(cmd[i], 128)).Append("' ");
        w.WriteError(text.ToString());
    }

    /// <summary>A client-supplied argument as text for an error message (cut at <paramref name="max"/> bytes).</summary>
    private static string Text(ReadOnlySpan<byte> bytes, int max = 128) =>
        System.Text.Encoding.UTF8.GetString(bytes.Length > max ? bytes[..max] : bytes);

    private static bool Is(ReadOnlySpan<byte> argument, ReadOnlySpan<byte> upperName) =>
        System.Text.Ascii.EqualsIgnoreCase(argument, upperName);

    private void WriteWriteError(ref RespWriter w, WriteStatus status, RespTable table)
    {
        switch (status)
        {
            case WriteStatus.Full:
                w.WriteError($"ERR table '{table.Schema.Name}' is full ({table.Schema.Rows} rows)");
                break;
            case WriteStatus.BadKey:
                w.WriteError($"ERR a row key must have 1 to {TableSchema.MaxKeyBytes} bytes");
                break;
            default:
                w.WriteError($"ERR write to table '{table.Schema.Name}' failed: {status}");
                break;
        }
    }
}
