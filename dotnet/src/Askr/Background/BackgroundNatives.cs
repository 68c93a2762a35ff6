using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using Askr.Php;
using Askr.Worker;

namespace Askr.Background;

/// <summary>
/// The PHP thread's side of the background-worker natives (native/shim/background.c):
/// set_vars(), should_stop() and get_worker_handle() in background workers, get_vars() and
/// ensure_background_worker() in every worker. As every callback of the seam, each catches
/// everything and returns a code (ShimInterop.Vars*), with its message in memory that stays
/// valid until the next of these callbacks, and none calls into the Zend engine.
/// </summary>
internal static unsafe partial class BackgroundNatives
{
    /// <summary>How long ensure_background_worker() waits when its $timeout is null.</summary>
    public static readonly TimeSpan DefaultEnsureTimeout = TimeSpan.FromSeconds(30);

    private static byte* s_message;
    private static byte* s_blob;
    private static long s_blobBytes;

    /// <summary>This process's background worker; null in HTTP and task workers.</summary>
    public static BackgroundRole? Role { get; set; }

    public static void Register(ShimInterop.Callbacks* callbacks)
    {
        callbacks->SetVars = &OnSetVars;
        callbacks->GetVars = &OnGetVars;
        callbacks->ShouldStop = &OnShouldStop;
        callbacks->WorkerHandle = &OnWorkerHandle;
        callbacks->EnsureBackground = &OnEnsureBackground;
    }

    private static int Error(int code, string message, ShimInterop.Str* output)
    {
        NativeMemory.Free(s_message);
        var bytes = Encoding.UTF8.GetBytes(message);
        s_message = (byte*)NativeMemory.Alloc((nuint)bytes.Length + 1);
        bytes.CopyTo(new Span<byte>(s_message, bytes.Length));
        s_message[bytes.Length] = 0;
        *output = new ShimInterop.Str { Ptr = s_message, Len = bytes.Length };
        return code;
    }

    private const string NotBackground = "this is not a background worker (ASKR_WORKER_KIND={0}); only a script run by askr serve --background-worker may {1}";

    // ---------- set_vars() ----------

    [UnmanagedCallersOnly]
    private static int OnSetVars(byte* blob, long length, ShimInterop.Str* message)
    {
        try { return SetVars(new ReadOnlySpan<byte>(blob, (int)length), message); }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    private static int SetVars(ReadOnlySpan<byte> snapshot, ShimInterop.Str* message)
    {
        var php = PhpThread.Current;
        if (Role is not { } role || php.Vars is not { } vars)
            return Error(ShimInterop.VarsWrongKind, string.Format(NotBackground, php.Kind.Name(), "publish vars"), message);
        if (snapshot.Length > vars.Capacity)
            return Error(ShimInterop.VarsTooLarge, $"the snapshot of \"{role.Name}\" is {snapshot.Length} bytes serialized, over the limit of {vars.Capacity} bytes (--background-vars-limit); nothing was written", message);
        vars.Write(role.Slot, snapshot);
        return ShimInterop.VarsOk;
    }

    // ---------- get_vars() ----------

    [UnmanagedCallersOnly]
    private static int OnGetVars(byte* name, long nameLength, long known, long* generation, ShimInterop.Str* blob, ShimInterop.Str* message)
    {
        try { return GetVars(Encoding.UTF8.GetString(name, (int)nameLength), known, generation, blob, message); }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    private static int GetVars(string name, long known, long* generation, ShimInterop.Str* blob, ShimInterop.Str* message)
    {
        var vars = PhpThread.Current.Vars;
        if (vars is null) return Error(ShimInterop.VarsNoStore, $"no background worker named \"{name}\": askr serve declares none (--background-worker, --background-entrypoint)", message);
        var slot = vars.Find(name);
        if (slot < 0)
        {
            return vars.CatchAllCap > 0
                ? Error(ShimInterop.VarsNotRunning, $"background worker \"{name}\" is not running: ensure_background_worker('{name}') starts it with the catch-all (--background-entrypoint)", message)
                : Error(ShimInterop.VarsUndeclared, $"no background worker named \"{name}\" is declared (askr serve --background-worker {name}=SCRIPT)", message);
        }
        var read = vars.Read(slot, known, out var g, ref s_blob, ref s_blobBytes, out var length);
        *generation = g;
        switch (read)
        {
            case VarsRead.Unchanged:
                return ShimInterop.VarsUnchanged;
            case VarsRead.NotPublished:
                return vars.State(slot) == VarsSlotState.Declared
                    ? Error(ShimInterop.VarsNotRunning, $"background worker \"{name}\" is not running (it is lazy: ensure_background_worker('{name}') starts it)", message)
                    : Error(ShimInterop.VarsNotPublished, $"background worker \"{name}\" has not published its vars yet (set_vars()); ensure_background_worker('{name}') waits for it", message);
            default:
                *blob = new ShimInterop.Str { Ptr = s_blob, Len = length };
                return ShimInterop.VarsOk;
        }
    }

    // ---------- should_stop(), get_worker_handle() ----------

    [UnmanagedCallersOnly]
    private static int OnShouldStop(ShimInterop.Str* message)
    {
        try
        {
            if (Role is not { } role) return Error(ShimInterop.VarsWrongKind, string.Format(NotBackground, PhpThread.Current.Kind.Name(), "ask whether to stop"), message);
            return role.StopRequested ? 1 : 0;
        }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    [UnmanagedCallersOnly]
    private static int OnWorkerHandle(int* fd, ShimInterop.Str* message)
    {
        try
        {
            if (Role is not { } role) return Error(ShimInterop.VarsWrongKind, string.Format(NotBackground, PhpThread.Current.Kind.Name(), "take a stop handle"), message);
            var dup = Dup(role.StopReadFd);
            if (dup < 0) return Error(ShimInterop.VarsNoStore, $"could not duplicate the stop handle (errno {Marshal.GetLastPInvokeError()})", message);
            *fd = dup;
            return ShimInterop.VarsOk;
        }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    // ---------- ensure_background_worker() ----------

    [UnmanagedCallersOnly]
    private static int OnEnsureBackground(ShimInterop.Str* names, long count, long timeoutMs, ShimInterop.Str* message)
    {
        try
        {
            var list = new List<string>((int)count);
            for (var i = 0; i < count; i++) list.Add(Encoding.UTF8.GetString(names[i].Ptr, (int)names[i].Len));
            return Ensure(PhpThread.Current, list, timeoutMs < 0 ? DefaultEnsureTimeout : TimeSpan.FromMilliseconds(timeoutMs), message);
        }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    private static int Ensure(PhpThread php, List<string> names, TimeSpan timeout, ShimInterop.Str* message)
    {
        var vars = php.Vars;
        if (vars is null) return Error(ShimInterop.VarsNoStore, $"no background worker named \"{names[0]}\": askr serve declares none (--background-worker, --background-entrypoint)", message);
        var toStart = new List<string>();
        var newCatchAll = 0;
        foreach (var name in names.Distinct())
        {
            var slot = vars.Find(name);
            if (slot < 0)
            {
                if (vars.CatchAllCap == 0)
                    return Error(ShimInterop.VarsUndeclared, $"no background worker named \"{name}\" is declared (askr serve --background-worker {name}=SCRIPT, or a catch-all --background-entrypoint)", message);
                if (Encoding.UTF8.GetByteCount(name) is 0 or > VarsStore.MaxNameBytes)
                    return Error(ShimInterop.VarsUndeclared, $"\"{name}\" cannot name a background worker: 1 to {VarsStore.MaxNameBytes} bytes", message);
                newCatchAll++;
                if (vars.CatchAllInUse() + newCatchAll > vars.CatchAllCap)
                    return Error(ShimInterop.VarsUndeclared, $"the catch-all background entrypoint already runs {vars.CatchAllInUse()} name(s), its cap (--background-entrypoint-cap {vars.CatchAllCap}): \"{name}\" is not started", message);
                toStart.Add(name);
            }
            else if (vars.State(slot) == VarsSlotState.Declared) toStart.Add(name);
        }
        if (toStart.Count > 0)
        {
            if (php.Control is not { } control)
                return Error(ShimInterop.VarsNotRunning, $"background worker \"{toStart[0]}\" is not running and this worker has no supervisor to start it", message);
            control.Send(new EnsureBackgroundMessage { Names = toStart });
        }
        // Fail-fast while the app boots (before its first request or task): a worker whose attempt
        // already failed is reported at once, so a broken dependency stops start-up with the reason.
        var booting = php.Kind != WorkerKind.Background && !php.Ready.IsCompleted;
        var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
        var pending = names.Distinct().ToList();
        while (true)
        {
            pending.RemoveAll(n => vars.Find(n) is var s && s >= 0 && vars.Generation(s) > 0);
            if (pending.Count == 0) return ShimInterop.VarsOk;
            var failed = booting ? pending.FirstOrDefault(n => vars.Find(n) is var s && s >= 0 && vars.Failures(s) > 0) : null;
            if (failed is not null)
                return Error(ShimInterop.VarsTimeout, $"background worker \"{failed}\" failed while the app boots, before it published its vars: {Describe(vars, failed)}", message);
            if (Stopwatch.GetTimestamp() >= deadline)
                return Error(ShimInterop.VarsTimeout, $"background worker \"{pending[0]}\" did not publish its vars within {timeout.TotalSeconds:0.###} s: {Describe(vars, pending[0])}", message);
            Thread.Sleep(2);
        }
    }

    /// <summary>"3 attempt(s); last attempt: PHP error "..." in file on line N, exit status S".</summary>
    internal static string Describe(VarsStore vars, string name)
    {
        var slot = vars.Find(name);
        if (slot < 0) return "not started yet";
        var attempts = vars.Attempts(slot);
        if (attempts == 0) return "not started yet";
        var (msg, file, line) = vars.LastError(slot);
        // An uncaught exception's message goes on with its stack trace: the first line says it.
        if (msg.IndexOf("\nStack trace:", StringComparison.Ordinal) is var cut and >= 0) msg = msg[..cut];
        var failures = vars.Failures(slot);
        var error = msg.Length > 0 ? $"PHP error \"{msg}\"{(file.Length > 0 ? $" in {file} on line {line}" : "")}" : "no PHP error";
        return failures > 0
            ? $"{attempts} attempt(s), {failures} failed in a row; last attempt: {error}, exit status {vars.ExitStatus(slot)}"
            : $"{attempts} attempt(s); the last is still running ({error} so far)";
    }

    [LibraryImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static partial int Dup(int fd);
}

/// <summary>
/// What makes this process a background worker: its name, its slot in the <see cref="VarsStore"/>,
/// and its stop signal (a flag for should_stop() and a pipe whose write end is closed on stop, so
/// every descriptor get_worker_handle() handed out becomes readable at end of file).
/// </summary>
internal sealed partial class BackgroundRole
{
    private int _writeFd;
    private volatile bool _stop;

    public unsafe BackgroundRole(string name, int slot)
    {
        Name = name;
        Slot = slot;
        var fds = stackalloc int[2];
        if (Pipe2(fds, 0x80000 /* O_CLOEXEC */) != 0) throw new IOException($"pipe2 failed (errno {Marshal.GetLastPInvokeError()})");
        StopReadFd = fds[0];
        _writeFd = fds[1];
    }

    public string Name { get; }
    public int Slot { get; }
    public int StopReadFd { get; }
    public bool StopRequested => _stop;

    public void RequestStop()
    {
        _stop = true;
        var fd = Interlocked.Exchange(ref _writeFd, -1);
        if (fd >= 0) Close(fd);
    }

    [LibraryImport("libc", EntryPoint = "pipe2", SetLastError = true)]
    private static unsafe partial int Pipe2(int* fds, int flags);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
