using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Primitives;

namespace Askr.Worker;

/// <summary>
/// The document root as Kestrel's static-file middleware sees it: every file except PHP sources
/// (any name ending in ".php", case-insensitive) and dot-files or files under dot-directories
/// (".env", ".git/..."), which are never served as static content. Requests for those fall
/// through to the PHP worker, as with nginx's usual Laravel configuration.
///
/// Symbolic links are followed, wherever they point (nginx's default, <c>disable_symlinks off</c>;
/// Laravel's <c>public/storage</c> link points outside <c>public/</c>). With
/// <c>followSymlinksOutside: false</c> (<c>--static-follow-symlinks no</c>) a file whose real path,
/// every link resolved (realpath(3)), is outside the document root's real path is not served
/// either: the request falls through to PHP.
/// </summary>
internal sealed partial class DocumentRootFileProvider : IFileProvider
{
    private readonly PhysicalFileProvider _inner;
    private readonly string? _realRoot;

    public DocumentRootFileProvider(string root, bool followSymlinksOutside = true)
    {
        _inner = new PhysicalFileProvider(root, ExclusionFilters.Sensitive);
        if (!followSymlinksOutside)
            _realRoot = (RealPath(root) ?? Path.GetFullPath(root)).TrimEnd('/') + "/";
    }

    private bool IsOutside(IFileInfo info)
    {
        if (_realRoot is null || !info.Exists || info.PhysicalPath is null) return false;
        var real = RealPath(info.PhysicalPath);
        return real is null || !real.StartsWith(_realRoot, StringComparison.Ordinal);
    }

    /// <summary>realpath(3): the absolute path with every symbolic link resolved; null on error.</summary>
    internal static string? RealPath(string path)
    {
        var resolved = NativeRealPath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return System.Runtime.InteropServices.Marshal.PtrToStringUTF8(resolved); }
        finally { System.Runtime.InteropServices.Marshal.FreeHGlobal(resolved); } // free(3) on Unix
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial IntPtr NativeRealPath(string path, IntPtr resolved);

    internal static bool IsHidden(string subpath)
    {
        if (subpath.EndsWith(".php", StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var segment in subpath.Split('/', '\\'))
        {
            if (segment.Length > 0 && segment[0] == '.') return true;
        }
        return false;
    }

    public IFileInfo GetFileInfo(string subpath)
    {
        if (IsHidden(subpath)) return new NotFoundFileInfo(subpath);
        var info = _inner.GetFileInfo(subpath);
        if (IsOutside(info)) return new NotFoundFileInfo(subpath);
        return info.Exists && info.PhysicalPath is { } physical ? ThroughLink(physical) ?? info : info;
    }

    /// <summary>
    /// The link's final target when <paramref name="path"/> is a symbolic link, else null:
    /// PhysicalFileInfo reports the link's own size and time (lstat), so the response would
    /// announce the length of the target's path name and end early or late.
    /// </summary>
    private static IFileInfo? ThroughLink(string path)
    {
        var file = new FileInfo(path);
        if (!file.Attributes.HasFlag(FileAttributes.ReparsePoint)) return null;
        return file.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target && target.Exists ? new PhysicalFileInfo(target) : null;
    }

    public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

    public IChangeToken Watch(string filter) => NullChangeToken.Singleton;
}
