using System.CommandLine;
using Askr.Cli;
using Askr.Supervision;
using Askr.Worker;

namespace Askr.Tests.Supervision;

/// <summary>The worker command line is built and read by one class: what the supervisor writes, `askr worker` reads back.</summary>
public sealed class WorkerCommandLineTests
{
    private static readonly ServeOptions Options = new() { Root = "/srv/app/public", WorkerScript = "/srv/app/worker.php", MaxRequests = 120, TaskWorkers = 3 };

    private static WorkerCommandLine? ReadBack(WorkerCommandLine line)
    {
        var worker = new Command("worker") { TreatUnmatchedTokensAsErrors = false };
        WorkerCommandLine.AddTo(worker);
        var root = new RootCommand { worker };
        return WorkerCommandLine.Bind(root.Parse(line.Arguments().ToArray()), Options);
    }

    [Fact]
    public void A_task_workers_command_line_reads_back_as_what_the_supervisor_built()
    {
        var line = new WorkerCommandLine { Options = Options, Slot = 3, WorkerId = 9, Kind = WorkerKind.Task, ControlPath = "/tmp/c.sock", TaskSocket = "/dev/shm/t.sock", BoardSlot = 1 };
        var back = ReadBack(line)!;
        Assert.Equal((3, true, "/tmp/c.sock", "/dev/shm/t.sock", 1, (int?)null), (back.Slot, back.Kind == WorkerKind.Task, back.ControlPath, back.TaskSocket, back.BoardSlot, back.ListenFd));
        var psi = line.ToStartInfo();
        Assert.Equal(("task", "9", "3", "3"), (psi.Environment["ASKR_WORKER_KIND"], psi.Environment["ASKR_WORKER_ID"], psi.Environment["ASKR_WORKER_SLOT"], psi.Environment["ASKR_TASK_WORKERS"]));
        Assert.Contains("--max-requests", psi.ArgumentList);
        Assert.Equal("120", psi.ArgumentList[psi.ArgumentList.IndexOf("--max-requests") + 1]);
    }

    [Fact]
    public void An_http_workers_command_line_carries_its_listening_socket_and_no_task_options()
    {
        var line = new WorkerCommandLine { Options = Options, Slot = 0, WorkerId = 1, ListenFd = 42, ControlPath = "/tmp/c.sock" };
        var back = ReadBack(line)!;
        Assert.Equal((0, false, (int?)42, (string?)null, -1), (back.Slot, back.Kind == WorkerKind.Task, back.ListenFd, back.TaskSocket, back.BoardSlot));
        Assert.DoesNotContain("--kind", line.Arguments());
        Assert.Equal("http", line.ToStartInfo().Environment["ASKR_WORKER_KIND"]);
    }

    [Fact]
    public void A_task_worker_without_a_control_socket_is_refused()
    {
        Assert.Null(ReadBack(new WorkerCommandLine { Options = Options, Slot = 1, WorkerId = 2, Kind = WorkerKind.Task }));
    }

    [Fact]
    public void A_worker_kind_this_runtime_does_not_have_is_refused()
    {
        var worker = new Command("worker") { TreatUnmatchedTokensAsErrors = false };
        WorkerCommandLine.AddTo(worker);
        var parse = new RootCommand { worker }.Parse(["worker", "--slot", "0", "--kind", "websocket", "--control", "/tmp/c.sock"]);
        Assert.Null(WorkerCommandLine.Bind(parse, Options));
        Assert.Equal(["http", "task", "background"], Enum.GetValues<WorkerKind>().Select(k => k.Name()));
    }

    [Fact]
    public void Each_worker_gets_up_to_a_fifth_more_than_max_requests_and_zero_stays_never()
    {
        var random = new Random(1);
        var limits = Enumerable.Range(0, 500).Select(_ => WorkerCommandLine.SpreadMaxRequests(100, random)).ToList();
        Assert.InRange(limits.Min(), 100, 100 + 5);
        Assert.InRange(limits.Max(), 115, 120);
        Assert.Equal(0, WorkerCommandLine.SpreadMaxRequests(0, random));
    }
}
