using System.Runtime.InteropServices;
using Askr.Cli;
using Askr.Control;
using Askr.Logging;
using Askr.Php;
using Askr.Worker;

namespace Askr.Background;

/// <summary>
/// A background worker process (docs/background-workers.md): one PHP interpreter that runs its
/// script once, outside the request cycle, with ASKR_WORKER_KIND=background and its name in
/// ASKR_BACKGROUND_WORKER and argv[1]. The script publishes snapshots with set_vars() and loops
/// until should_stop() (or its get_worker_handle() stream) says the worker must stop: on SIGTERM
/// or SIGINT from the supervisor, or when the supervisor is gone. The supervisor kills it after
/// --background-grace if it does not return. When PHP ends, its last error is recorded in the
/// worker's slot for ensure_background_worker()'s report, and the process exits with the
/// script's status (a fatal error: 255).
/// </summary>
internal static class BackgroundWorkerHost
{
    public static async Task<int> RunAsync(ServeOptions options, int slot, string controlPath)
    {
        var log = LogWriter.Current;
        var name = Environment.GetEnvironmentVariable("ASKR_BACKGROUND_WORKER");
        if (options.VarsPath is null || string.IsNullOrEmpty(name))
        {
            log.Error("a background worker needs ASKR_BACKGROUND_WORKER and --vars (it is started by askr serve)");
            return 2;
        }
        using var vars = VarsStore.Open(options.VarsPath);
        var index = vars.Find(name);
        if (index < 0)
        {
            log.Error($"background worker \"{name}\" has no slot in {options.VarsPath}");
            return 2;
        }
        var control = await ControlClient.ConnectAsync(controlPath, slot, WorkerKind.Background);
        using var store = options.StorePath is null ? null : Tables.TableStore.Open(options.StorePath);
        var role = new BackgroundRole(name, index);
        BackgroundNatives.Role = role;
        var php = new PhpThread(options.WorkerScript, options.Root, maxQueue: 1, timeoutSeconds: 0, options.PhpIni, log)
        {
            Kind = WorkerKind.Background,
            Store = store,
            Vars = vars,
            Control = control,
            BackgroundRunEnded = (status, message, file, line) => vars.RecordError(index, message, file, line),
        };
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; role.RequestStop(); });
        using var intr = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; role.RequestStop(); });
        using var hup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, c => c.Cancel = true);
        _ = control.Closed.ContinueWith(_ => role.RequestStop(), TaskScheduler.Default);
        control.Start();
        php.Start();
        control.Send(new ReadyMessage());
        var exit = await php.Exited;
        if (!role.StopRequested) log.Error($"background worker \"{name}\" (pid {Environment.ProcessId}) ended by itself with status {exit}; the supervisor restarts it");
        control.Dispose();
        log.Flush(TimeSpan.FromSeconds(1));
        return exit;
    }
}
