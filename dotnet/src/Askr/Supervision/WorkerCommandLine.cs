using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Askr.Cli;
using Askr.Worker;

namespace Askr.Supervision;

/// <summary>
/// The command line and environment of a worker process (<c>askr worker</c>, hidden): the one
/// place that knows them, both ways. The supervisor builds a worker's with
/// <see cref="ToStartInfo"/>; <c>askr worker</c> parses it with the same options
/// (<see cref="AddTo"/>, <see cref="Bind"/>). The serve options a worker needs go as
/// <see cref="ServeOptions.ToArguments"/>, with this worker's own --max-requests
/// (<see cref="SpreadMaxRequests"/>) and the node's shared files.
/// </summary>
internal sealed record WorkerCommandLine
{
    /// <summary>Up to this share of --max-requests is added to each worker's own limit, at random, so the workers do not all recycle at once.</summary>
    public const int MaxRequestsSpreadPercent = Php.ShimInterop.RecycleSpreadPercent;

    public required ServeOptions Options { get; init; }
    public required int Slot { get; init; }
    /// <summary>Unique per process start within this supervisor (ASKR_WORKER_ID).</summary>
    public required int WorkerId { get; init; }
    /// <summary>What the worker is (ASKR_WORKER_KIND, --kind).</summary>
    public WorkerKind Kind { get; init; } = WorkerKind.Http;
    /// <summary>An HTTP worker's inherited listening socket; null: it binds --host/--port itself.</summary>
    public int? ListenFd { get; init; }
    /// <summary>An HTTP worker's inherited HTTPS listening socket (--https-port); null: none, or it binds it itself.</summary>
    public int? HttpsListenFd { get; init; }
    /// <summary>The supervisor's control socket.</summary>
    public string? ControlPath { get; init; }
    /// <summary>A task worker's own socket, on which HTTP workers send it tasks directly.</summary>
    public string? TaskSocket { get; init; }
    /// <summary>A background worker's name (ASKR_BACKGROUND_WORKER, and its script's argv[1]); null for other kinds.</summary>
    public string? BackgroundName { get; init; }
    /// <summary>A task worker's record on the task board; -1: none.</summary>
    public int BoardSlot { get; init; } = -1;

    /// <summary>
    /// This worker's --max-requests: <paramref name="maxRequests"/> plus up to
    /// <see cref="MaxRequestsSpreadPercent"/> % of it (0 stays 0, never recycle). The runtime's one
    /// place for it; each worker then counts its own answers (WorkerLifecycle).
    /// </summary>
    public static long SpreadMaxRequests(long maxRequests, Random random) =>
        maxRequests > 0 ? maxRequests + random.NextInt64(0, maxRequests * MaxRequestsSpreadPercent / 100 + 1) : 0;

    public ProcessStartInfo ToStartInfo()
    {
        var (file, prefix) = SelfCommand();
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (var a in prefix) psi.ArgumentList.Add(a);
        foreach (var a in Arguments()) psi.ArgumentList.Add(a);
        // The supervisor's socket engine completes inline (Program.Main); workers keep the default.
        psi.Environment.Remove("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS");
        // The supervisor's secrets stay with it: PHP code in a worker could read them with getenv().
        psi.Environment.Remove("ASKR_CLUSTER_SECRET");
        psi.Environment.Remove("ASKR_RESP_PASSWORD");
        psi.Environment.Remove(AdminEndpoint.TokenVariable);
        psi.Environment["ASKR_WORKER_SLOT"] = Slot.ToString(CultureInfo.InvariantCulture);
        psi.Environment["ASKR_WORKER_ID"] = WorkerId.ToString(CultureInfo.InvariantCulture);
        psi.Environment["ASKR_WORKER_KIND"] = Kind.Name();
        psi.Environment["ASKR_TASK_WORKERS"] = Options.TaskWorkers.ToString(CultureInfo.InvariantCulture);
        if (BackgroundName is not null) psi.Environment["ASKR_BACKGROUND_WORKER"] = BackgroundName;
        else psi.Environment.Remove("ASKR_BACKGROUND_WORKER");
        return psi;
    }

    /// <summary>The arguments after the executable: "worker", this worker's own options, then the serve options.</summary>
    public IEnumerable<string> Arguments()
    {
        yield return "worker";
        yield return s_slot.Name; yield return Slot.ToString(CultureInfo.InvariantCulture);
        if (Kind != WorkerKind.Http) { yield return s_kind.Name; yield return Kind.Name(); }
        if (TaskSocket is not null) { yield return s_taskSocket.Name; yield return TaskSocket; }
        if (BoardSlot >= 0) { yield return s_boardSlot.Name; yield return BoardSlot.ToString(CultureInfo.InvariantCulture); }
        if (ListenFd is { } fd) { yield return s_listenFd.Name; yield return fd.ToString(CultureInfo.InvariantCulture); }
        if (HttpsListenFd is { } hfd) { yield return s_httpsListenFd.Name; yield return hfd.ToString(CultureInfo.InvariantCulture); }
        if (ControlPath is not null) { yield return s_control.Name; yield return ControlPath; }
        foreach (var a in Options.ToArguments()) yield return a;
    }

    /// <summary>The executable that runs this program, and what must precede its arguments (the assembly, under `dotnet`).</summary>
    private static (string File, string[] Prefix) SelfCommand()
    {
        var path = Environment.ProcessPath!;
        if (Path.GetFileNameWithoutExtension(path) == "dotnet")
            return (path, [typeof(WorkerCommandLine).Assembly.Location]);
        return (path, []);
    }

    private static readonly Option<int> s_slot = new("--slot") { Description = "Worker slot (0-based)." };
    private static readonly Option<int?> s_listenFd = new("--listen-fd") { Description = "Inherited listening socket; without it the worker binds --host/--port itself." };
    private static readonly Option<int?> s_httpsListenFd = new("--https-listen-fd") { Description = "Inherited HTTPS listening socket (--https-port)." };
    private static readonly Option<string?> s_control = new("--control") { Description = "The supervisor's control socket." };
    private static readonly Option<string> s_kind = new("--kind") { Description = "http (default), task or background.", DefaultValueFactory = _ => "http" };
    private static readonly Option<string?> s_taskSocket = new("--task-socket") { Description = "Task worker: the Unix socket HTTP workers send tasks to directly." };
    private static readonly Option<int> s_boardSlot = new("--board-slot") { Description = "Task worker: its record on the task board.", DefaultValueFactory = _ => -1 };

    /// <summary>Adds this worker's own options to the <c>worker</c> command.</summary>
    public static void AddTo(Command worker)
    {
        foreach (var o in new Option[] { s_slot, s_listenFd, s_httpsListenFd, s_control, s_kind, s_taskSocket, s_boardSlot }) worker.Options.Add(o);
    }

    /// <summary>Reads a worker's command line back (<paramref name="options"/>: the serve options it carried). Null, with the error on stderr, when it is not one.</summary>
    public static WorkerCommandLine? Bind(ParseResult parse, ServeOptions options)
    {
        if (!WorkerKinds.TryParse(parse.GetValue(s_kind), out var kind))
        {
            Console.Error.WriteLine($"askr: --kind must be one of {string.Join(", ", Enum.GetValues<WorkerKind>().Select(k => k.Name()))}");
            return null;
        }
        var control = parse.GetValue(s_control);
        if (kind != WorkerKind.Http && control is null)
        {
            Console.Error.WriteLine($"askr: a {kind.Name()} worker needs --control");
            return null;
        }
        return new WorkerCommandLine
        {
            Options = options,
            Slot = parse.GetValue(s_slot),
            WorkerId = int.TryParse(Environment.GetEnvironmentVariable("ASKR_WORKER_ID"), out var id) ? id : -1,
            Kind = kind,
            ListenFd = parse.GetValue(s_listenFd),
            HttpsListenFd = parse.GetValue(s_httpsListenFd),
            ControlPath = control,
            TaskSocket = parse.GetValue(s_taskSocket),
            BoardSlot = parse.GetValue(s_boardSlot),
        };
    }
}
