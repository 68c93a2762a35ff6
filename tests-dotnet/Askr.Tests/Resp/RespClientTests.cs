using System.Text;

namespace Askr.Tests.Resp;

/// <summary>The RESP endpoint with other real clients: redis-benchmark, PHP's redis extension, raw sockets.</summary>
public sealed class RespClientTests(RespFixture server) : IClassFixture<RespFixture>
{
    [Fact]
    public async Task Redis_benchmark_set_get_and_pipelined_hset_run_without_errors()
    {
        var (code, stdout, stderr) = await RespFixture.Run("redis-benchmark",
            ["-h", "127.0.0.1", "-p", server.Port.ToString(), "-t", "set,get", "-n", "2000", "-c", "4", "-P", "16", "-r", "50", "-q"]);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("SET:", stdout);
        Assert.Contains("GET:", stdout);
        Assert.DoesNotContain("ERR", stdout + stderr);
        // HSET on a real table, as bench/resp/run.sh measures it (redis-benchmark's own hset uses fields that are not columns).
        (code, stdout, stderr) = await RespFixture.Run("redis-benchmark",
            ["-h", "127.0.0.1", "-p", server.Port.ToString(), "-n", "2000", "-c", "4", "-P", "16", "-r", "500", "-q", "HSET", "bench:__rand_int__", "name", "value"]);
        Assert.True(code == 0, stderr + stdout);
        Assert.Contains("HSET", stdout);
        Assert.DoesNotContain("ERR", stdout + stderr);
        var written = (await server.Cli("KEYS", "bench:0*")).Split('\n');
        Assert.InRange(written.Length, 1, 500);
        Assert.Equal("value", await server.Cli("HGET", written[0], "name"));
        // redis-benchmark -t hset as is: its key and fields name no table, so the server refuses it and the benchmark says why.
        (code, stdout, stderr) = await RespFixture.Run("redis-benchmark",
            ["-h", "127.0.0.1", "-p", server.Port.ToString(), "-t", "hset", "-n", "200", "-q"]);
        Assert.Contains("ERR key 'myhash' names no table", stdout + stderr);
    }

    [Fact]
    public async Task Php_redis_extension_connects_sets_gets_and_reads_table_rows()
    {
        var script = """
            $r = new Redis();
            $r->connect('127.0.0.1', (int) $argv[1]);
            var_export([
                $r->ping(),
                $r->set('php-key', 'php value'),
                $r->get('php-key'),
                $r->get('php-missing'),
                $r->hSet('users:php', 'name', 'Rasmus'),
                $r->hGetAll('users:php'),
                $r->hIncrBy('users:php', 'votes', 2),
                $r->incr('php-counter'),
                $r->exists('php-key'),
                $r->del('php-key'),
            ]);
            """;
        var (code, stdout, stderr) = await RespFixture.Run("php", ["-r", script, server.Port.ToString()]);
        Assert.True(code == 0, stderr + stdout);
        var expected = """
            array (
              0 => true,
              1 => true,
              2 => 'php value',
              3 => false,
              4 => 1,
              5 => 
              array (
                'name' => 'Rasmus',
                'votes' => '0',
                'score' => '0',
              ),
              6 => 2,
              7 => 1,
              8 => 1,
              9 => 1,
            )
            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), stdout.ReplaceLineEndings("\n"));
    }

    [Theory]
    [InlineData("*1\r\n:3\r\n", "-ERR Protocol error: expected '$', got ':'\r\n")]
    [InlineData("*x\r\n", "-ERR Protocol error: invalid multibulk length\r\n")]
    [InlineData("*2000000\r\n", "-ERR Protocol error: invalid multibulk length\r\n")]
    [InlineData("*1\r\n$abc\r\n", "-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("*2\r\n$3\r\nSET\r\n$2000000\r\n", "-ERR Protocol error: invalid bulk length\r\n")]
    [InlineData("*1\r\n$4\r\nPINGxx", "-ERR Protocol error: bulk data not followed by CRLF\r\n")]
    [InlineData("SET k \"open\r\n", "-ERR Protocol error: unbalanced quotes in request\r\n")]
    public async Task A_bad_frame_gets_the_error_and_a_closed_connection_while_others_keep_working(string frame, string reply)
    {
        using var other = await server.Connect();
        using var bad = await server.Connect();
        // A command before the bad frame, in the same packet, is still answered.
        await bad.Send("PING\r\n" + frame);
        var (text, closed) = await bad.ReceiveUntilClosed();
        Assert.Equal("+PONG\r\n" + reply, text);
        Assert.True(closed, "the server must close a connection it cannot resynchronise");
        await other.Send("*1\r\n$4\r\nPING\r\n");
        Assert.Equal("+PONG\r\n", await other.Receive(7));
    }

    [Fact]
    public async Task A_too_long_inline_line_closes_the_connection()
    {
        using var bad = await server.Connect();
        await bad.Send(new string('a', 70 * 1024));
        var (text, closed) = await bad.ReceiveUntilClosed();
        Assert.Equal("-ERR Protocol error: too big inline request\r\n", text);
        Assert.True(closed);
    }

    [Fact]
    public async Task Inline_commands_work_as_telnet_sends_them()
    {
        using var client = await server.Connect();
        await client.Send("PING\r\nSET inline-key \"two words\"\r\nGET inline-key\nQUIT\r\n");
        var (text, closed) = await client.ReceiveUntilClosed();
        Assert.Equal("+PONG\r\n+OK\r\n$9\r\ntwo words\r\n+OK\r\n", text);
        Assert.True(closed);
    }

    [Fact]
    public async Task A_pipeline_sent_byte_by_byte_is_answered_in_order()
    {
        using var client = await server.Connect();
        client.Socket.NoDelay = true;
        var pipeline = "*3\r\n$3\r\nSET\r\n$4\r\nbyte\r\n$3\r\nabc\r\n*2\r\n$3\r\nGET\r\n$4\r\nbyte\r\n*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n";
        foreach (var b in Encoding.ASCII.GetBytes(pipeline)) await client.Send([b]);
        const string expected = "+OK\r\n$3\r\nabc\r\n$5\r\nhello\r\n";
        Assert.Equal(expected, await client.Receive(expected.Length));
    }

    [Fact]
    public async Task A_value_of_a_megabyte_arrives_in_pieces_and_is_refused_by_the_column_size()
    {
        using var client = await server.Connect();
        var value = new string('x', 1024 * 1024);
        var frame = Encoding.ASCII.GetBytes($"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${value.Length}\r\n{value}\r\n*1\r\n$4\r\nPING\r\n");
        for (var at = 0; at < frame.Length; at += 100_000) await client.Send(frame[at..Math.Min(frame.Length, at + 100_000)]);
        const string expected = "-ERR value too long for column 'value' of table 'octane_cache' (64 bytes at most)\r\n+PONG\r\n";
        Assert.Equal(expected, await client.Receive(expected.Length));
    }

    [Fact]
    public async Task Hello_2_is_answered_and_hello_3_is_refused_so_clients_fall_back()
    {
        using var client = await server.Connect();
        await client.Send("HELLO 3\r\n");
        Assert.Equal("-NOPROTO unsupported protocol version\r\n", await client.Receive(39));
        await client.Send("HELLO 2\r\n");
        var reply = await client.Receive(100);
        Assert.StartsWith("*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n", reply);
        Assert.Contains("$5\r\nproto\r\n:2\r\n", reply);
    }

    [Fact]
    public async Task Client_and_config_commands_that_libraries_send_are_answered()
    {
        Assert.Equal("OK", await server.Cli("CLIENT", "SETINFO", "lib-name", "test"));
        Assert.Equal("OK\nme", string.Join('\n', await server.CliLines("CLIENT SETNAME me", "CLIENT GETNAME")));
        Assert.Matches("^[0-9]+$", await server.Cli("CLIENT", "ID"));
        Assert.Equal("save\n\nappendonly\nno", await server.Cli("CONFIG", "GET", "save", "appendonly"));
        Assert.Equal("", await server.Cli("COMMAND", "DOCS"));
    }
}

/// <summary>The endpoint with a password: NOAUTH until AUTH, as Redis with requirepass.</summary>
public sealed class RespAuthTests(RespPasswordFixture server) : IClassFixture<RespPasswordFixture>
{
    [Fact]
    public async Task Commands_before_auth_get_noauth_and_auth_unlocks_them()
    {
        var lines = await server.CliLines("GET x", "AUTH wrong", "AUTH default wrong", $"AUTH \"{RespPasswordFixture.Password}\"", "PING");
        Assert.Equal("NOAUTH Authentication required.", lines[0]);
        Assert.Equal("WRONGPASS invalid username-password pair or user is disabled.", lines.Where(l => l.Length > 0).ElementAt(1));
        Assert.Equal(["OK", "PONG"], lines.Where(l => l.Length > 0).TakeLast(2));
    }

    [Fact]
    public async Task Redis_cli_authenticates_with_user_and_password()
    {
        Assert.Equal("PONG", await server.RunCli(null, "--user", "default", "--pass", RespPasswordFixture.Password, "--no-auth-warning", "PING"));
        Assert.Equal("PONG", await server.RunCli(null, "-a", RespPasswordFixture.Password, "--no-auth-warning", "PING"));
    }

    [Fact]
    public async Task Hello_with_auth_authenticates_and_without_is_refused()
    {
        using var client = await server.Connect();
        await client.Send("HELLO 2\r\n");
        Assert.StartsWith("-NOAUTH HELLO must be called with the client already authenticated", await client.Receive(60));
        await client.Send($"*5\r\n$5\r\nHELLO\r\n$1\r\n2\r\n$4\r\nAUTH\r\n$7\r\ndefault\r\n${RespPasswordFixture.Password.Length}\r\n{RespPasswordFixture.Password}\r\n");
        Assert.StartsWith("*14\r\n", await client.Receive(100));
        await client.Send("DBSIZE\r\n");
        Assert.StartsWith(":", await client.Receive(3));
    }

    [Fact]
    public async Task Php_redis_authenticates()
    {
        var script = "$r = new Redis(); $r->connect('127.0.0.1', (int) $argv[1]); var_export([$r->auth($argv[2]), $r->set('php-auth', 'x'), $r->get('php-auth')]);";
        var (code, stdout, stderr) = await RespFixture.Run("php", ["-r", script, server.Port.ToString(), RespPasswordFixture.Password]);
        Assert.True(code == 0, stderr);
        Assert.Equal("array (\n  0 => true,\n  1 => true,\n  2 => 'x',\n)", stdout);
    }
}
