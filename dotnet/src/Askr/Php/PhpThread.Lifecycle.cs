using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Askr.Php;

/// <summary>
/// The C# side of defer() / run_deferred() (native/shim/defer.c, docs/lifecycle.md): the PHP
/// thread waits here until the current response is complete on the wire before it runs the
/// deferred callbacks. The request stays current while they run, so the watchdog's
/// --request-timeout covers them.
/// </summary>
internal sealed unsafe partial class PhpThread
{
    /// <summary>How long to wait for Kestrel to end a response when there is no --request-timeout.</summary>
    private static readonly TimeSpan SentWaitWithoutTimeout = TimeSpan.FromSeconds(60);

    [UnmanagedCallersOnly]
    private static int OnAwaitSent()
    {
        try { return s_instance!.AwaitSent(); }
        catch (Exception e) { return Fail(e); }
    }

    private int AwaitSent()
    {
        PhpRequest? request;
        lock (_currentLock) request = _current as PhpRequest;
        if (request is null) return ShimInterop.SendOk;
        if (!request.Answered) return ShimInterop.SendNoRequest;
        var wait = SentWaitWithoutTimeout;
        if (_timeoutSeconds > 0)
        {
            // What is left of the request's time: past it, the watchdog interrupts whatever runs.
            wait = TimeSpan.FromSeconds(_timeoutSeconds) - Stopwatch.GetElapsedTime(request.TakenAt);
            if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
        }
        if (!request.Sent.Wait(wait))
            _log.Warning($"{request.Description}: the response was not complete on the wire within {wait.TotalSeconds:0.###} s; the deferred callbacks run now");
        return ShimInterop.SendOk;
    }
}
