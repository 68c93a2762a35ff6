using System.Text.Json.Serialization;
using Askr.Control;

namespace Askr.Tasks;

/// <summary>
/// HTTP worker → supervisor: tasks that found no idle task worker on the <see cref="TaskBoard"/>;
/// the supervisor queues them and answers each with a <see cref="TaskResultMessage"/> carrying
/// the task's <see cref="QueuedTask.Id"/> (none when <see cref="Wait"/> is false).
/// </summary>
public sealed class SubmitTasksMessage : ControlMessage
{
    [JsonPropertyName("tasks")] public required List<QueuedTask> Tasks { get; init; }
    /// <summary>false: fire and forget (Octane::tasks()->dispatch()); no result comes back.</summary>
    [JsonPropertyName("wait")] public bool Wait { get; init; }
}

/// <summary>One task of a <see cref="SubmitTasksMessage"/>: the id its dispatcher gave it, and the serialized task.</summary>
public sealed record QueuedTask([property: JsonPropertyName("id")] long Id, [property: JsonPropertyName("payload")] byte[] Payload);

/// <summary>
/// To a task worker: run one task or tick. From the supervisor over the control socket (queued
/// tasks, ticks; <see cref="Id"/> is the supervisor's), or from an HTTP worker over the task
/// worker's own socket (<see cref="Id"/> is that worker's dispatcher's). The answer, on the same
/// connection, is a <see cref="TaskResultMessage"/> with the same id.
/// </summary>
public sealed class RunTaskMessage : ControlMessage
{
    [JsonPropertyName("id")] public long Id { get; init; }
    [JsonPropertyName("kind")] public TaskKind Kind { get; init; }
    /// <summary>The serialized task; null for a tick.</summary>
    [JsonPropertyName("payload")] public byte[]? Payload { get; init; }
    /// <summary>
    /// True: the sender reads no result (Octane's dispatch(), sent straight to a task worker), so
    /// the task worker sends none. Absent (false) on every other task.
    /// </summary>
    [JsonPropertyName("no_reply"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] public bool NoReply { get; init; }
}

/// <summary>
/// The outcome of task <see cref="Id"/>, the one result message of every route: task worker →
/// supervisor, task worker → HTTP worker (direct), supervisor → HTTP worker (its queued tasks,
/// or "unavailable").
/// </summary>
public sealed class TaskResultMessage : ControlMessage
{
    [JsonPropertyName("id")] public long Id { get; init; }
    [JsonPropertyName("status")] public TaskOutcomeStatus Status { get; init; }
    /// <summary>The result (<see cref="TaskOutcomeStatus.Ok"/>).</summary>
    [JsonPropertyName("data")] public byte[]? Data { get; init; }
    /// <summary>Why there is no result (any other status).</summary>
    [JsonPropertyName("message")] public string? Message { get; init; }

    public TaskOutcome ToOutcome() => new(Status, Data, Message);

    /// <summary>The same outcome for another task id (the supervisor relays a result to the HTTP worker that asked).</summary>
    public TaskResultMessage For(long id) => new() { Id = id, Status = Status, Data = Data, Message = Message };

    public static TaskResultMessage Failed(long id, string message) => new() { Id = id, Status = TaskOutcomeStatus.Error, Message = message };
}

/// <summary>Task worker → supervisor: it is idle again and the supervisor's queue is not empty (see <see cref="TaskBoard.Release"/>).</summary>
public sealed class TaskWorkerIdleMessage : ControlMessage;
