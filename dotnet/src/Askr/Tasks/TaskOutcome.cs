using System.Text.Json;
using System.Text.Json.Serialization;
using Askr.Php;

namespace Askr.Tasks;

/// <summary>
/// What became of a task: the one status type of tasks. The same numbers in C
/// (askr_task_result.status, the task_result callback) and the same names on the control socket
/// (<see cref="TaskResultMessage"/>) and in PHP (dispatch_tasks()'s 'status', send_task_result()'s
/// $status): native/shim/constants.json, group TASK.
/// </summary>
[JsonConverter(typeof(WireNameConverter<TaskOutcomeStatus>))]
public enum TaskOutcomeStatus
{
    /// <summary>The task ran; the data is its result.</summary>
    Ok = ShimInterop.TaskOk,
    /// <summary>The task could not give a result: its worker failed (fatal error, crash, timeout) or said why.</summary>
    Error = ShimInterop.TaskError,
    /// <summary>No result before the caller's deadline (the task still runs to its end).</summary>
    Timeout = ShimInterop.TaskTimeout,
    /// <summary>The server runs no task workers.</summary>
    Unavailable = ShimInterop.TaskUnavailable,
}

/// <summary>What a task worker is asked to run: native/shim/constants.json, group TASK_KIND.</summary>
[JsonConverter(typeof(WireNameConverter<TaskKind>))]
public enum TaskKind
{
    /// <summary>A payload from dispatch_tasks().</summary>
    Task = ShimInterop.TaskKindTask,
    /// <summary>Once a second per node, to one task worker: Octane's TickReceived.</summary>
    Tick = ShimInterop.TaskKindTick,
}

/// <summary>The outcome of one task: its status, and its result (<see cref="TaskOutcomeStatus.Ok"/>) or why not.</summary>
public readonly record struct TaskOutcome(TaskOutcomeStatus Status, byte[]? Data, string? Message);

/// <summary>
/// Writes and reads an enum of the seam by its wire name (the member's name in lower case, as
/// native/shim/constants.json gives them to C and PHP): the one parser of statuses and kinds.
/// A name that is not one of them is a <see cref="JsonException"/> (a bad frame).
/// </summary>
public sealed class WireNameConverter<T> : JsonConverter<T> where T : struct, Enum
{
    private static readonly string[] s_names = typeof(T) == typeof(TaskOutcomeStatus) ? ShimInterop.TaskNames
        : typeof(T) == typeof(TaskKind) ? ShimInterop.TaskKindNames
        : throw new NotSupportedException($"{typeof(T)} has no wire names");

    /// <summary>The wire name of <paramref name="value"/> ("ok", "tick").</summary>
    public static string Name(T value) => s_names[Convert.ToInt32(value)];

    /// <summary>The value named <paramref name="name"/>; false for a name that is not one.</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out T value)
    {
        for (var i = 0; i < s_names.Length; i++)
        {
            if (name.SequenceEqual(s_names[i]))
            {
                value = (T)Enum.ToObject(typeof(T), i);
                return true;
            }
        }
        value = default;
        return false;
    }

    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        if (name is null || !TryParse(name, out var value))
            throw new JsonException($"\"{name ?? reader.TokenType.ToString()}\" is not a {typeof(T).Name} (expected one of {string.Join(", ", s_names)})");
        return value;
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(Name(value));
}
