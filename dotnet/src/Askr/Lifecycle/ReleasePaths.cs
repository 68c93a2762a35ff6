using System.Runtime.InteropServices;
using Askr.Cli;

namespace Askr.Lifecycle;

/// <summary>
/// Symlink-release deploys (docs/lifecycle.md): with the app at <c>current -&gt; releases/N</c>,
/// <c>askr serve</c> is given the paths through the link (<c>current/public</c>, and
/// <c>APP_BASE_PATH=current</c> from the Octane driver) and every worker process resolves them once,
/// when it starts. So a worker serves exactly one release for its whole life: its document root,
/// its worker script, the app it boots (and re-boots on --max-requests) and the files PHP and
/// OPcache see all sit under <c>releases/N</c>, whose real paths differ from release to release,
/// so OPcache (which keys cached scripts by path) never serves a file of one release for the
/// other. After the link is switched, a reload starts new processes, which resolve to N+1.
/// </summary>
internal static partial class ReleasePaths
{
    /// <summary>The environment variable of an app's base path that is pinned like the root (Laravel's, set by octane:start).</summary>
    public const string AppBasePathVariable = "APP_BASE_PATH";

    /// <summary>
    /// <paramref name="options"/> with <see cref="ServeOptions.Root"/> and
    /// <see cref="ServeOptions.WorkerScript"/> resolved to their real paths, and
    /// <c>APP_BASE_PATH</c> in this process's environment likewise (PHP reads it from there).
    /// A path that cannot be resolved is kept as given.
    /// </summary>
    public static ServeOptions Pin(ServeOptions options)
    {
        if (Environment.GetEnvironmentVariable(AppBasePathVariable) is { Length: > 0 } basePath && Resolve(basePath) is { } pinned && pinned != basePath)
            Environment.SetEnvironmentVariable(AppBasePathVariable, pinned);
        return options with
        {
            Root = Resolve(options.Root) ?? options.Root,
            WorkerScript = Resolve(options.WorkerScript) ?? options.WorkerScript,
        };
    }

    /// <summary>realpath(3): every symbolic link of <paramref name="path"/> resolved; null if it does not exist.</summary>
    public static string? Resolve(string path)
    {
        if (OperatingSystem.IsWindows()) return Path.GetFullPath(path);
        var resolved = RealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(resolved); }
        finally { Free(resolved); }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPath(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
