using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Primitives;

namespace Askr.Worker;

/// <summary>
/// The document root as Kestrel's static-file middleware sees it: every file except PHP sources
/// (any name ending in ".php", case-insensitive) and dot-files or files under dot-directories
/// (".env", ".git/..."), which are never served as static content. Requests for those fall
/// through to the PHP worker, as with nginx's usual Laravel configuration.
/// </summary>
internal sealed class DocumentRootFileProvider : IFileProvider
{
    private readonly PhysicalFileProvider _inner;

    public DocumentRootFileProvider(string root)
    {
        _inner = new PhysicalFileProvider(root, ExclusionFilters.Sensitive);
    }

    internal static bool IsHidden(string subpath)
    {
        if (subpath.EndsWith(".php", StringComparison.OrdinalIgnoreCase)) return true;
        foreach (var segment in subpath.Split('/', '\\'))
        {
            if (segment.Length > 0 && segment[0] == '.') return true;
        }
        return false;
    }

    public IFileInfo GetFileInfo(string subpath) =>
        IsHidden(subpath) ? new NotFoundFileInfo(subpath) : _inner.GetFileInfo(subpath);

    public IDirectoryContents GetDirectoryContents(string subpath) => NotFoundDirectoryContents.Singleton;

    public IChangeToken Watch(string filter) => NullChangeToken.Singleton;
}
