using Askr.Php;

namespace Askr.Tasks;

/// <summary>
/// One task or tick on its way through a task worker: queued when a <see cref="RunTaskMessage"/>
/// arrives (from the supervisor or straight from an HTTP worker), taken by the worker script with
/// take_task(), answered exactly once with send_task_result() or by the runtime (the script
/// failed, the task ran too long, the worker stops). The answer leaves at once on the thread that
/// gives it, through <paramref name="reply"/>, as the <see cref="TaskResultMessage"/> of the task's id.
/// </summary>
internal sealed class TaskJob(RunTaskMessage task, Action<TaskResultMessage> reply) : PhpJob
{
    private int _answered;

    public RunTaskMessage Task { get; } = task;
    public override string Description => Task.Kind == TaskKind.Tick ? "tick" : $"task {Task.Id}";
    public override string Noun => WireNameConverter<TaskKind>.Name(Task.Kind);
    public override bool Answered => Volatile.Read(ref _answered) != 0;

    /// <summary>Answers the task unless it already was; false if someone answered first.</summary>
    public bool TryComplete(TaskOutcomeStatus status, byte[]? data, string? message)
    {
        if (Interlocked.Exchange(ref _answered, 1) != 0) return false;
        reply(new TaskResultMessage { Id = Task.Id, Status = status, Data = data, Message = message });
        return true;
    }

    public override bool TryFail(int status, string message) => TryComplete(TaskOutcomeStatus.Error, null, message);
}
