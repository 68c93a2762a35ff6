using System.Text;

namespace Askr.Resp;

// Connection and server commands: what client libraries, redis-cli and redis-benchmark send
// around the data commands (handshake, auth, introspection).
internal sealed partial class RespSession
{
    /// <summary>The Redis version askr reports: the protocol and command semantics it follows.</summary>
    internal const string RedisVersion = "7.0.0";

    private void Ping(in RespCommand cmd, ref RespWriter w)
    {
        if (cmd.Count == 1) w.WriteRaw("+PONG\r\n"u8);
        else if (cmd.Count == 2) w.WriteBulk(cmd[1]);
        else w.WriteError("ERR wrong number of arguments for 'ping' command");
    }

    /// <summary>AUTH password | AUTH default password. The only user is "default", as in a Redis with requirepass.</summary>
    private void Auth(in RespCommand cmd, ref RespWriter w)
    {
        if (cmd.Count > 3)
        {
            w.WriteError("ERR syntax error");
            return;
        }
        if (!_server.RequiresPassword)
        {
            w.WriteError("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
            return;
        }
        if (TryAuthenticate(cmd.Count == 3 ? cmd[1] : "default"u8, cmd[cmd.Count - 1])) w.WriteOk();
        else w.WriteError("WRONGPASS invalid username-password pair or user is disabled.");
    }

    private bool TryAuthenticate(ReadOnlySpan<byte> user, ReadOnlySpan<byte> password)
    {
        var ok = _server.PasswordMatches(password) && user.SequenceEqual("default"u8);
        _authenticated |= ok;
        return ok;
    }

    /// <summary>HELLO [protover [AUTH user password] [SETNAME name]]: RESP2 only; HELLO 3 answers NOPROTO, so clients fall back to RESP2.</summary>
    private void Hello(in RespCommand cmd, ref RespWriter w)
    {
        if (cmd.Count >= 2)
        {
            if (!RespNumbers.TryParseInt64(cmd[1], out var version))
            {
                w.WriteError("ERR Protocol version is not an integer or out of range");
                return;
            }
            if (version != 2)
            {
                w.WriteError("NOPROTO unsupported protocol version");
                return;
            }
        }
        string? name = null;
        for (var i = 2; i < cmd.Count; i++)
        {
            if (Is(cmd[i], "AUTH"u8) && i + 2 < cmd.Count)
            {
                if (!_server.RequiresPassword || !TryAuthenticate(cmd[i + 1], cmd[i + 2]))
                {
                    w.WriteError(_server.RequiresPassword
                        ? "WRONGPASS invalid username-password pair or user is disabled."
                        : "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?");
                    return;
                }
                i += 2;
            }
            else if (Is(cmd[i], "SETNAME"u8) && i + 1 < cmd.Count)
            {
                name = Text(cmd[++i], 1024);
            }
            else
            {
                w.WriteError($"ERR Syntax error in HELLO option '{Text(cmd[i])}'");
                return;
            }
        }
        if (!_authenticated)
        {
            w.WriteError("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time");
            return;
        }
        if (name is not null) Name = name;
        w.WriteArrayHeader(14);
        w.WriteBulk("server"u8); w.WriteBulk("redis"u8);
        w.WriteBulk("version"u8); w.WriteBulk(RedisVersion);
        w.WriteBulk("proto"u8); w.WriteInteger(2);
        w.WriteBulk("id"u8); w.WriteInteger(Id);
        w.WriteBulk("mode"u8); w.WriteBulk("standalone"u8);
        w.WriteBulk("role"u8); w.WriteBulk("master"u8);
        w.WriteBulk("modules"u8); w.WriteArrayHeader(0);
    }

    /// <summary>SELECT: there is one database, 0.</summary>
    private static void Select(in RespCommand cmd, ref RespWriter w)
    {
        if (!RespNumbers.TryParseInt64(cmd[1], out var db)) w.WriteError("ERR value is not an integer or out of range");
        else if (db != 0) w.WriteError("ERR DB index is out of range");
        else w.WriteOk();
    }

    /// <summary>
    /// COMMAND and its subcommands, enough for clients that introspect: redis-cli 7 asks for
    /// COMMAND DOCS at start (an empty answer makes it skip hints), some libraries ask COMMAND COUNT.
    /// </summary>
    private static void CommandCommand(in RespCommand cmd, ref RespWriter w)
    {
        if (cmd.Count == 1 || Is(cmd[1], "DOCS"u8))
        {
            w.WriteRaw("*0\r\n"u8);
        }
        else if (Is(cmd[1], "COUNT"u8))
        {
            w.WriteInteger(RespCommands.All.Count);
        }
        else if (Is(cmd[1], "LIST"u8))
        {
            w.WriteArrayHeader(RespCommands.All.Count);
            foreach (var c in RespCommands.All) w.WriteBulk(c.Name);
        }
        else if (Is(cmd[1], "INFO"u8))
        {
            // Per name: nil (askr keeps no command metadata).
            w.WriteArrayHeader(cmd.Count - 2);
            for (var i = 2; i < cmd.Count; i++) w.WriteNullArray();
        }
        else
        {
            w.WriteError($"ERR unknown subcommand '{Text(cmd[1])}'. Try COMMAND HELP.");
        }
    }

    /// <summary>INFO [section …]: server, clients, persistence, replication, keyspace, and askr's tables.</summary>
    private void Info(in RespCommand cmd, ref RespWriter w)
    {
        var wanted = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 1; i < cmd.Count; i++) wanted.Add(Text(cmd[i]));
        var all = wanted.Count == 0 || wanted.Contains("all") || wanted.Contains("everything") || wanted.Contains("default");
        var text = new StringBuilder();
        void Section(string name, string body)
        {
            if (!all && !wanted.Contains(name)) return;
            if (text.Length > 0) text.Append("\r\n");
            text.Append("# ").Append(char.ToUpperInvariant(name[0])).Append(name[1..]).Append("\r\n").Append(body);
        }
        var process = Environment.ProcessId;
        var uptime = (long)(DateTime.UtcNow - _server.StartedAt).TotalSeconds;
        Section("server",
            $"redis_version:{RedisVersion}\r\nredis_mode:standalone\r\nserver_name:askr\r\naskr_version:{typeof(RespServer).Assembly.GetName().Version}\r\n" +
            $"os:{System.Runtime.InteropServices.RuntimeInformation.OSDescription}\r\narch_bits:64\r\nprocess_id:{process}\r\n" +
            $"tcp_port:{_server.Port}\r\nuptime_in_seconds:{uptime}\r\nuptime_in_days:{uptime / 86400}\r\n");
        Section("clients", $"connected_clients:{_server.ConnectedClients}\r\n");
        Section("persistence", "loading:0\r\nrdb_changes_since_last_save:0\r\naof_enabled:0\r\n");
        Section("replication", "role:master\r\nconnected_slaves:0\r\n");
        var tables = new StringBuilder();
        foreach (var t in _keyspace.Tables)
            tables.Append($"table_{t.Schema.Name}:rows={t.Table.Count},capacity={t.Schema.Rows},columns={t.Columns.Length},bytes={t.Table.Bytes}\r\n");
        Section("tables", tables.ToString());
        long keys = _keyspace.Tables.Sum(t => (long)t.Table.Count);
        var expires = _keyspace.Cache?.Table.Count ?? 0;
        Section("keyspace", keys > 0 ? $"db0:keys={keys},expires={expires},avg_ttl=0\r\n" : "");
        w.WriteBulk(text.ToString());
    }

    /// <summary>CLIENT ID | SETNAME | GETNAME | SETINFO | INFO | LIST | NO-EVICT | NO-TOUCH.</summary>
    private void Client(in RespCommand cmd, ref RespWriter w)
    {
        var sub = cmd[1];
        if (Is(sub, "ID"u8) && cmd.Count == 2) w.WriteInteger(Id);
        else if (Is(sub, "GETNAME"u8) && cmd.Count == 2)
        {
            if (Name is null) w.WriteNullBulk();
            else w.WriteBulk(Name);
        }
        else if (Is(sub, "SETNAME"u8) && cmd.Count == 3)
        {
            var name = cmd[2];
            foreach (var b in name)
            {
                if (b is < (byte)'!' or > (byte)'~')
                {
                    w.WriteError("ERR Client names cannot contain spaces, newlines or special characters.");
                    return;
                }
            }
            Name = name.IsEmpty ? null : Text(name, 1024);
            w.WriteOk();
        }
        else if ((Is(sub, "SETINFO"u8) && cmd.Count == 4) || ((Is(sub, "NO-EVICT"u8) || Is(sub, "NO-TOUCH"u8)) && cmd.Count == 3))
        {
            w.WriteOk(); // library name and version, eviction hints: nothing to do with them here
        }
        else if ((Is(sub, "INFO"u8) && cmd.Count == 2) || (Is(sub, "LIST"u8) && cmd.Count == 2))
        {
            var line = $"id={Id} addr={_connection.RemoteEndPoint} laddr={_connection.LocalEndPoint} name={Name} db=0 resp=2\n";
            w.WriteBulk(line);
        }
        else if (Is(sub, "ID"u8) || Is(sub, "GETNAME"u8) || Is(sub, "SETNAME"u8) || Is(sub, "SETINFO"u8) || Is(sub, "INFO"u8) || Is(sub, "LIST"u8))
        {
            w.WriteError($"ERR wrong number of arguments for 'client|{Text(sub).ToLowerInvariant()}' command");
        }
        else
        {
            w.WriteError($"ERR unknown subcommand '{Text(sub)}'. Try CLIENT HELP.");
        }
    }

    /// <summary>
    /// CONFIG GET pattern …: a few read-only values that clients and redis-benchmark ask for
    /// (save, appendonly: no persistence here). CONFIG SET is refused; askr's settings come from its command line.
    /// </summary>
    private void Config(in RespCommand cmd, ref RespWriter w)
    {
        var sub = cmd[1];
        if (Is(sub, "GET"u8) && cmd.Count >= 3)
        {
            (string Name, string Value)[] values =
            [
                ("save", ""), ("appendonly", "no"), ("databases", "1"), ("maxmemory", "0"), ("timeout", "0"),
                // Asked by StackExchange.Redis at connect; Redis' default. askr is never a replica.
                ("replica-read-only", "yes"), ("slave-read-only", "yes"),
                ("client-output-buffer-limit", $"normal {_limits.MaxOutputBytes} 0 0"),
                ("port", _server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                ("proto-max-bulk-len", _limits.MaxBulkBytes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            ];
            var matched = new List<(string, string)>();
            foreach (var v in values)
            {
                var name = Encoding.ASCII.GetBytes(v.Name);
                for (var i = 2; i < cmd.Count; i++)
                {
                    if (RespGlob.IsMatch(cmd[i], name))
                    {
                        matched.Add(v);
                        break;
                    }
                }
            }
            w.WriteArrayHeader(matched.Count * 2);
            foreach (var (name, value) in matched)
            {
                w.WriteBulk(name);
                w.WriteBulk(value);
            }
        }
        else if (Is(sub, "RESETSTAT"u8) && cmd.Count == 2) w.WriteOk();
        else if (Is(sub, "GET"u8)) w.WriteError("ERR wrong number of arguments for 'config|get' command");
        else if (Is(sub, "SET"u8) || Is(sub, "REWRITE"u8)) w.WriteError($"ERR CONFIG {Text(sub).ToUpperInvariant()} is not supported: askr is configured by its command line");
        else w.WriteError($"ERR unknown subcommand '{Text(sub)}'. Try CONFIG HELP.");
    }

    /// <summary>TIME: Unix seconds and microseconds, as two bulk strings.</summary>
    private static void Time(ref RespWriter w)
    {
        var micros = (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / 10;
        w.WriteArrayHeader(2);
        w.WriteBulkInteger(micros / 1_000_000);
        w.WriteBulkInteger(micros % 1_000_000);
    }
}
