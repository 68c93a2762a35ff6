using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Askr.Control;
using Askr.Tasks;

namespace Askr.Tests.Tasks;

/// <summary>
/// An HTTP worker's direct channel to a task worker, against a fake task worker on a real Unix
/// socket (the real one cannot be made to answer garbage): a malformed answer fails the task at
/// once with a reason that says so, and the next task reaches the worker on a new connection.
/// </summary>
public sealed class DirectTaskChannelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("askr-direct-").FullName;
    private readonly TaskBoard _board;
    private readonly Socket _supervisor;
    private readonly Socket _worker;

    public DirectTaskChannelTests()
    {
        _board = TaskBoard.Create(Path.Combine(_dir, "board.tasks"), 1);
        _supervisor = Listen(Path.Combine(_dir, "control.sock"));
        _worker = Listen(Path.Combine(_dir, "worker.sock"));
        _board.Publish(0, Environment.ProcessId, 1, Path.Combine(_dir, "worker.sock"));
        _board.MakeIdle(0);
        // The supervisor side only has to take the hello; no task in this test goes through it.
        _ = Task.Run(() => { try { using var s = _supervisor.Accept(); while (s.Receive(new byte[4096]) > 0) { } } catch (SocketException) { } });
    }

    public void Dispose()
    {
        _supervisor.Dispose();
        _worker.Dispose();
        _board.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private static Socket Listen(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));
        socket.Listen(4);
        return socket;
    }

    /// <summary>
    /// The fake task worker: takes one task on a new connection, frees its slot, answers with
    /// <paramref name="answer"/> and keeps the connection until the caller closes it. Completes
    /// with the task it received as soon as it has answered.
    /// </summary>
    private Task<RunTaskMessage?> ServeOne(Func<RunTaskMessage, byte[]> answer)
    {
        var received = new TaskCompletionSource<RunTaskMessage?>(TaskCreationOptions.RunContinuationsAsynchronously);
        _ = Task.Run(() =>
        {
            try
            {
                using var connection = _worker.Accept();
                using var stream = new NetworkStream(connection, ownsSocket: false);
                var task = (RunTaskMessage?)ControlMessage.Read(stream);
                if (task is null) { received.TrySetResult(null); return; }
                _board.Release(0);
                stream.Write(answer(task));
                received.TrySetResult(task);
                while (connection.Receive(new byte[64]) > 0) { }
            }
            catch (Exception e) { received.TrySetException(e); }
        });
        return received.Task;
    }

    [Fact]
    public async Task A_malformed_answer_fails_the_task_at_once_and_the_next_task_gets_through_on_a_new_connection()
    {
        using var control = await ControlClient.ConnectAsync(Path.Combine(_dir, "control.sock"), 0);
        using var dispatcher = new TaskDispatcher(control, _board);

        var garbage = Encoding.ASCII.GetBytes("\u0010\0\0\0this is not json");
        var first = ServeOne(_ => garbage);
        var clock = Stopwatch.StartNew();
        var outcome = Assert.Single(dispatcher.Run([Encoding.UTF8.GetBytes("task one")], 10_000, wait: true));
        Assert.True(clock.ElapsedMilliseconds < 5_000, $"the caller waited {clock.ElapsedMilliseconds} ms instead of failing at once");
        Assert.Equal(TaskOutcomeStatus.Error, outcome.Status);
        Assert.Contains("answer was malformed", outcome.Message);
        Assert.Contains("not a JSON message", outcome.Message);
        Assert.Equal("task one", Encoding.UTF8.GetString((await first.WaitAsync(TimeSpan.FromSeconds(10)))!.Payload!));

        var second = ServeOne(task => new TaskResultMessage
        {
            Id = task.Id, Status = TaskOutcomeStatus.Ok, Data = "result two"u8.ToArray(),
        }.ToFrame());
        outcome = Assert.Single(dispatcher.Run([Encoding.UTF8.GetBytes("task two")], 10_000, wait: true));
        Assert.Equal(TaskOutcomeStatus.Ok, outcome.Status);
        Assert.Equal("result two", Encoding.UTF8.GetString(outcome.Data!));
        Assert.Equal("task two", Encoding.UTF8.GetString((await second.WaitAsync(TimeSpan.FromSeconds(10)))!.Payload!));
    }

    [Fact]
    public async Task An_oversized_frame_length_is_refused_without_allocating_it()
    {
        using var control = await ControlClient.ConnectAsync(Path.Combine(_dir, "control.sock"), 0);
        using var dispatcher = new TaskDispatcher(control, _board);

        var first = ServeOne(_ => [0xff, 0xff, 0xff, 0x7f]);
        var outcome = Assert.Single(dispatcher.Run([Encoding.UTF8.GetBytes("task")], 10_000, wait: true));
        Assert.Equal(TaskOutcomeStatus.Error, outcome.Status);
        Assert.Contains("answer was malformed", outcome.Message);
        Assert.Contains("control frame of 2147483647 bytes", outcome.Message);
        await first.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_task_with_no_answer_times_out_at_the_deadline_never_before_it()
    {
        using var control = await ControlClient.ConnectAsync(Path.Combine(_dir, "control.sock"), 0);
        using var dispatcher = new TaskDispatcher(control, _board);

        // The fake worker takes every connection and never answers: a connection whose task timed
        // out is closed by the caller (its late result has nowhere to go), so each task connects afresh.
        var connections = new List<Socket>();
        _ = Task.Run(() =>
        {
            try { while (true) { var c = _worker.Accept(); lock (connections) connections.Add(c); } }
            catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
        });
        for (var i = 0; i < 10; i++)
        {
            var clock = Stopwatch.StartNew();
            var outcome = Assert.Single(dispatcher.Run([Encoding.UTF8.GetBytes("never answered")], 30, wait: true));
            var elapsed = clock.Elapsed.TotalMilliseconds;
            Assert.Equal(TaskOutcomeStatus.Timeout, outcome.Status);
            Assert.True(elapsed >= 30, $"timed out after {elapsed:F2} ms, before the 30 ms deadline");
            _board.Release(0);
        }
        lock (connections) foreach (var c in connections) c.Dispose();
    }

    [Fact]
    public async Task A_task_dispatched_without_waiting_asks_for_no_reply_and_a_waited_one_does()
    {
        using var control = await ControlClient.ConnectAsync(Path.Combine(_dir, "control.sock"), 0);
        using var dispatcher = new TaskDispatcher(control, _board);

        var first = ServeOne(_ => []);
        Assert.Empty(dispatcher.Run([Encoding.UTF8.GetBytes("fire and forget")], 10_000, wait: false));
        var sent = (await first.WaitAsync(TimeSpan.FromSeconds(10)))!;
        Assert.True(sent.NoReply);
        Assert.Contains("\"no_reply\":true", Encoding.UTF8.GetString(sent.ToFrame().AsSpan(4)));
        Assert.DoesNotContain("no_reply", Encoding.UTF8.GetString(new RunTaskMessage { Id = 1, Kind = TaskKind.Task }.ToFrame().AsSpan(4)));
    }
}
