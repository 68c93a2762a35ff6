using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Askr.Resp;
using Askr.Tables;

namespace Askr.Tests.Resp;

/// <summary>
/// A <see cref="RespServer"/> in this process, over a real <see cref="TableStore"/> under
/// /dev/shm, on 127.0.0.1 and a free port. Tables: users (name string:16, votes int, score float),
/// bench (name string:32) and the octane cache (100 rows of 64 bytes).
/// </summary>
public class RespFixture : IAsyncLifetime
{
    private readonly string? _password;

    public RespFixture() : this(null) { }

    protected RespFixture(string? password) => _password = password;

    public TableStore Store { get; private set; } = null!;
    internal RespServer Server { get; private set; } = null!;
    public int Port => Server.Port;
    public List<string> Log { get; } = [];

    public static IReadOnlyList<TableSchema> Schemas() =>
    [
        new("users", 100, [new ColumnSchema("name", ColumnType.String, 16), new ColumnSchema("votes", ColumnType.Int, 8), new ColumnSchema("score", ColumnType.Float, 8)]),
        new("bench", 1000, [new ColumnSchema("name", ColumnType.String, 32)]),
        TableSchema.Cache(100, 64),
    ];

    public async Task InitializeAsync()
    {
        Store = TableStore.Create($"/dev/shm/askr-resp-test-{Guid.NewGuid():N}", Schemas(), nodeId: 7);
        Server = new RespServer(Store, new IPEndPoint(IPAddress.Loopback, 0), _password, line => { lock (Log) Log.Add(line); });
        await Server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Store.Dispose();
    }

    /// <summary>Runs redis-cli with the given arguments (one command), returns its stdout without the final newline.</summary>
    public Task<string> Cli(params string[] args) => RunCli(null, args);

    /// <summary>Feeds redis-cli one command per line on stdin; returns one output line per reply line.</summary>
    public async Task<string[]> CliLines(params string[] commands)
    {
        var output = await RunCli(string.Join('\n', commands) + "\n");
        return output.Split('\n');
    }

    public async Task<string> RunCli(string? stdin, params string[] args)
    {
        var all = new List<string> { "-h", "127.0.0.1", "-p", Port.ToString() };
        all.AddRange(args);
        var (code, stdout, stderr) = await Run("redis-cli", all, stdin);
        Assert.True(code == 0, $"redis-cli {string.Join(' ', args)} exited {code}: {stderr}");
        return stdout.TrimEnd('\n');
    }

    public static async Task<(int Code, string Stdout, string Stderr)> Run(string program, IEnumerable<string> args, string? stdin = null, int timeoutSeconds = 20)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null) await process.StandardInput.WriteAsync(stdin);
        process.StandardInput.Close();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(' ', args)} did not finish in {timeoutSeconds} s; output so far: {await stdout}");
        }
        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>A raw TCP client on the server, for byte-exact exchanges.</summary>
    public async Task<RawClient> Connect()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, Port);
        return new RawClient(socket);
    }
}

/// <summary>The same server, with a password.</summary>
public sealed class RespPasswordFixture : RespFixture
{
    public const string Password = "s3cret pass";
    public RespPasswordFixture() : base(Password) { }
}

public sealed class RawClient(Socket socket) : IDisposable
{
    public Socket Socket { get; } = socket;

    public Task Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    public async Task Send(byte[] bytes)
    {
        await Socket.SendAsync(bytes, SocketFlags.None);
    }

    /// <summary>Reads until <paramref name="expected"/> bytes arrived or the peer closed; 5 s at most.</summary>
    public async Task<string> Receive(int expected)
    {
        var buffer = new byte[Math.Max(expected, 1) + 4096];
        var total = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (total < expected)
        {
            var n = await Socket.ReceiveAsync(buffer.AsMemory(total), SocketFlags.None, cts.Token);
            if (n == 0) break;
            total += n;
        }
        return Encoding.UTF8.GetString(buffer, 0, total);
    }

    /// <summary>Reads everything until the peer closes the connection; 5 s at most.</summary>
    public async Task<(string Text, bool Closed)> ReceiveUntilClosed()
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (true)
            {
                var n = await Socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token);
                if (n == 0) return (text.ToString(), true);
                text.Append(Encoding.UTF8.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException)
        {
            return (text.ToString(), false);
        }
        catch (SocketException)
        {
            return (text.ToString(), true);
        }
    }

    public void Dispose() => Socket.Dispose();
}
