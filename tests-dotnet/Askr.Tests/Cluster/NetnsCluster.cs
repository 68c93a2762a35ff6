using System.Diagnostics;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Cluster;

/// <summary>
/// askr nodes as separate hosts: each in its own network namespace, joined by a bridge on a
/// private /24 that only this test uses (10.199.N.0/24, N random), so that a node's traffic can
/// really be cut (its link set down) and restored. Needs root and iproute2 (`ip`); tests skip
/// with a clear message otherwise.
/// </summary>
public sealed class NetnsCluster : IAsyncDisposable
{
    public const string Secret = "askr-test-cluster-secret-0123";
    public const int HttpPort = 8080;
    public const int AdminPort = 8081;
    public const int ClusterPort = 7946;

    private readonly string _tag = Guid.NewGuid().ToString("N")[..5];
    private readonly int _subnet = Random.Shared.Next(10, 250);
    private readonly Dictionary<int, Process> _nodes = [];
    private readonly Dictionary<int, List<string>> _logs = [];
    private readonly HashSet<int> _hosts = [];
    private bool _bridge;

    public static string? WhyUnsupported()
    {
        if (Environment.UserName != "root" && Environment.GetEnvironmentVariable("USER") != "root" && GetUid() != 0)
            return "cluster tests create network namespaces and need root";
        if (!File.Exists("/usr/sbin/ip") && !File.Exists("/sbin/ip") && !File.Exists("/usr/bin/ip"))
            return "cluster tests need iproute2 (`ip`)";
        return null;
    }

    private static int GetUid()
    {
        try { return int.Parse(File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:")).Split('\t', StringSplitOptions.RemoveEmptyEntries)[1]); }
        catch { return -1; }
    }

    private string Bridge => $"askrbr{_tag}";
    private string Ns(int i) => $"askr{_tag}n{i}";
    private string HostVeth(int i) => $"av{_tag}{i}";
    public string Ip(int i) => $"10.199.{_subnet}.{i}";
    public string ClusterAddress(int i) => $"{Ip(i)}:{ClusterPort}";
    public HttpClient Http(int i) => new() { BaseAddress = new Uri($"http://{Ip(i)}:{HttpPort}"), Timeout = TimeSpan.FromSeconds(10) };
    public IReadOnlyList<string> Log(int i) => _logs.TryGetValue(i, out var l) ? l : [];

    private static string Run(string command)
    {
        var psi = new ProcessStartInfo("/bin/sh", ["-c", command]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var p = Process.Start(psi)!;
        var output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"`{command}` failed ({p.ExitCode}): {output}");
        return output;
    }

    /// <summary>Creates host <paramref name="i"/> (1-based): a namespace, a veth on the bridge, address 10.199.N.i.</summary>
    public void AddHost(int i)
    {
        if (!_bridge)
        {
            Run($"ip link add {Bridge} type bridge && ip addr add 10.199.{_subnet}.254/24 dev {Bridge} && ip link set {Bridge} up");
            _bridge = true;
        }
        Run($"ip netns add {Ns(i)} && ip link add {HostVeth(i)} type veth peer name eth0 netns {Ns(i)}"
            + $" && ip link set {HostVeth(i)} master {Bridge} && ip link set {HostVeth(i)} up"
            + $" && ip netns exec {Ns(i)} ip addr add {Ip(i)}/24 dev eth0 && ip netns exec {Ns(i)} ip link set eth0 up && ip netns exec {Ns(i)} ip link set lo up");
        _hosts.Add(i);
    }

    /// <summary>Starts askr serve on host <paramref name="i"/> (tables.php or <paramref name="script"/>, one worker, <paramref name="extra"/> options) and waits until it listens.</summary>
    public async Task StartAsync(int i, string seeds, string secret = Secret, string script = "tables.php", params string[] extra)
    {
        var psi = new ProcessStartInfo("ip") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "netns", "exec", Ns(i), AskrServer.Binary, "serve",
                     "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, script),
                     "--tables", Path.Combine(AskrServer.PhpDir, "tables.json"), "--host", Ip(i), "--port", HttpPort.ToString(),
                     "--workers", "1", "--admin-port", AdminPort.ToString(), "--no-access-log",
                     "--cluster-host", Ip(i), "--cluster-port", ClusterPort.ToString(), "--seeds", seeds, "--cluster-secret", secret })
            psi.ArgumentList.Add(a);
        foreach (var a in extra) psi.ArgumentList.Add(a);
        var process = Process.Start(psi)!;
        var log = new List<string>();
        _logs[i] = log;
        var listening = new TaskCompletionSource();
        void OnLine(string? line)
        {
            if (line is null) return;
            lock (log) log.Add(line);
            if (line.Contains("askr listening on")) listening.TrySetResult();
        }
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _nodes[i] = process;
        if (await Task.WhenAny(listening.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60))) != listening.Task)
            throw new InvalidOperationException($"node {i} did not start:\n{string.Join('\n', log)}");
    }

    /// <summary>
    /// Three hosts, askr serve on each (joined through node 1; <paramref name="script"/> and
    /// <paramref name="extra"/> options as <see cref="StartAsync"/>), once every node sees the
    /// other two alive (30 s). If that fails, everything started is removed before the exception
    /// goes on (xUnit does not dispose a test class whose InitializeAsync failed).
    /// </summary>
    public static async Task<NetnsCluster> StartThreeAsync(string script = "tables.php", params string[] extra)
    {
        var cluster = new NetnsCluster();
        try
        {
            for (var i = 1; i <= 3; i++) cluster.AddHost(i);
            var seed = cluster.ClusterAddress(1);
            await Task.WhenAll(Enumerable.Range(1, 3).Select(i => cluster.StartAsync(i, seed, Secret, script, extra)));
            Assert.True(await AskrServer.EventuallyAsync(() => Task.FromResult(
                Enumerable.Range(1, 3).All(i => Enumerable.Range(1, 3).Where(j => j != i).All(j => cluster.MemberStatus(i, cluster.ClusterAddress(j)) == "alive"))),
                TimeSpan.FromSeconds(30)), "the three nodes did not all see each other alive:\n" + cluster.Describe());
            return cluster;
        }
        catch
        {
            await cluster.DisposeAsync();
            throw;
        }
    }

    /// <summary>The admin endpoint's /status of node i (reached from inside its namespace: it listens on loopback).</summary>
    public JsonElement Status(int i) =>
        JsonDocument.Parse(Run($"ip netns exec {Ns(i)} curl -s --max-time 5 http://127.0.0.1:{AdminPort}/status")).RootElement.Clone();

    /// <summary>GET from inside node i's namespace (works while its link is down).</summary>
    public string GetFromInside(int i, string path) =>
        Run($"ip netns exec {Ns(i)} curl -s --max-time 5 'http://{Ip(i)}:{HttpPort}{path}'");

    /// <summary>The status (alive, suspect, dead, left) node <paramref name="observer"/> has for the member at <paramref name="address"/>; null if unknown.</summary>
    public string? MemberStatus(int observer, string address)
    {
        var members = Status(observer).GetProperty("cluster").GetProperty("members").EnumerateArray()
            .Where(m => m.GetProperty("address").GetString() == address)
            .Select(m => m.GetProperty("status").GetString()).ToList();
        return members.Contains("alive") ? "alive" : members.LastOrDefault();
    }

    /// <summary>For a failure message: every node's view of the members, and the last lines of its log.</summary>
    public string Describe()
    {
        var text = new System.Text.StringBuilder();
        foreach (var i in _nodes.Keys.Order())
        {
            text.Append($"node {i} ({ClusterAddress(i)}): ");
            try
            {
                text.AppendJoin(", ", Status(i).GetProperty("cluster").GetProperty("members").EnumerateArray()
                    .Select(m => $"{m.GetProperty("address").GetString()} {m.GetProperty("status").GetString()} (incarnation {m.GetProperty("incarnation")})"));
            }
            catch (Exception e) when (e is InvalidOperationException or JsonException or KeyNotFoundException)
            {
                text.Append($"no status: {e.Message}");
            }
            text.Append('\n');
            lock (Log(i)) foreach (var line in Log(i).TakeLast(15)) text.Append("  ").Append(line).Append('\n');
        }
        return text.ToString();
    }

    /// <summary>Cuts all traffic of host i (its link to the bridge goes down).</summary>
    public void Partition(int i) => Run($"ip link set {HostVeth(i)} down");
    public void Heal(int i) => Run($"ip link set {HostVeth(i)} up");

    public async Task KillAsync(int i)
    {
        if (!_nodes.Remove(i, out var p)) return;
        p.Kill(entireProcessTree: true);
        await p.WaitForExitAsync();
        // The node's workers leave when its supervisor's control socket closes.
        await AskrServer.EventuallyAsync(() => Task.FromResult(string.IsNullOrWhiteSpace(Run($"ip netns pids {Ns(i)} || true"))), TimeSpan.FromSeconds(20));
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var i in _nodes.Keys.ToList())
        {
            try
            {
                var p = _nodes[i];
                if (!p.HasExited) p.Kill(entireProcessTree: true);
                await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
            catch (Exception) { }
        }
        foreach (var i in _hosts)
        {
            try { Run($"for p in $(ip netns pids {Ns(i)}); do kill -9 $p; done; ip netns del {Ns(i)}"); } catch (Exception) { }
        }
        if (_bridge) { try { Run($"ip link del {Bridge}"); } catch (Exception) { } }
    }
}
