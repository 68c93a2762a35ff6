namespace Askr.Worker;

/// <summary>
/// The kinds of worker process a supervisor runs. A kind has its slots (after the HTTP workers'),
/// its host (the process's main), what its PHP thread takes (take_request(), take_task()), and its
/// name in ASKR_WORKER_KIND, `askr worker --kind` and the <see cref="Control.HelloMessage"/>
/// (docs/natives.md, "Adding a worker kind").
/// </summary>
public enum WorkerKind
{
    /// <summary>Kestrel on the slot's listening socket plus a PHP thread that takes requests (<see cref="HttpWorkerHost"/>).</summary>
    Http,
    /// <summary>A PHP thread that takes tasks and ticks (Tasks.TaskWorkerHost).</summary>
    Task,
    /// <summary>A PHP script run outside the request cycle, which publishes vars (Background.BackgroundWorkerHost, docs/background-workers.md).</summary>
    Background,
}

/// <summary>The names of <see cref="WorkerKind"/>s: "http", "task", "background".</summary>
public static class WorkerKinds
{
    public static string Name(this WorkerKind kind) => kind.ToString().ToLowerInvariant();

    /// <summary>The kind named <paramref name="name"/>; false for a name that is not one.</summary>
    public static bool TryParse(string? name, out WorkerKind kind)
    {
        foreach (var k in Enum.GetValues<WorkerKind>())
        {
            if (k.Name() == name)
            {
                kind = k;
                return true;
            }
        }
        kind = default;
        return false;
    }
}
