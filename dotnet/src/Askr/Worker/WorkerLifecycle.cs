using System.Runtime.InteropServices;
using Askr.Control;
using Askr.Logging;
using Askr.Php;

namespace Askr.Worker;

/// <summary>What every worker process (HTTP or task) does while it runs: tells the supervisor when PHP is
/// ready and how many requests it answered (once a second; 4 times a second when the supervisor autoscales on it), asks to be recycled after --max-requests,
/// and waits for a reason to stop.</summary>
internal static class WorkerLifecycle
{
    /// <summary>
    /// Waits until SIGTERM or SIGINT arrives, the supervisor's control socket closes (it is gone), or PHP
    /// stops by itself. SIGHUP is the supervisor's (rolling reload) and is ignored here. After
    /// <paramref name="maxRequests"/> answers (0: never; the supervisor already spread the workers'
    /// limits, WorkerCommandLine) the worker asks the supervisor to replace it.
    /// Returns true when asked to stop, false when PHP stopped first.
    /// </summary>
    public static async Task<bool> RunUntilStopAsync(PhpThread php, ControlClient? control, long maxRequests, int statsIntervalMs = 1000)
    {
        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        if (maxRequests > 0)
        {
            php.RequestServed += served =>
            {
                if (served != maxRequests) return;
                LogWriter.Current.Info($"worker {Environment.ProcessId} reached --max-requests ({maxRequests}); asking to be recycled");
                control?.Send(new RecycleMessage());
            };
        }
        _ = php.Ready.ContinueWith(_ => control?.Send(new ReadyMessage()), TaskScheduler.Default);
        using var stats = new Timer(_ => control?.Send(new StatsMessage
        {
            Requests = php.Served,
            Http = php.Kind == WorkerKind.Http ? Metrics.RequestMetrics.Current.TakeDelta(php.Queued) : null,
        }), null, statsIntervalMs, statsIntervalMs);
        if (control is not null) _ = control.Closed.ContinueWith(_ => stop.TrySetResult(), TaskScheduler.Default);
        return await Task.WhenAny(stop.Task, php.Exited) == stop.Task;
    }
}
