using System.Buffers;
using System.Runtime.InteropServices;
using Askr.Logging;
using Askr.Php;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Net.Http.Headers;

namespace Askr.Front;

/// <summary>
/// <c>X-Sendfile</c> / <c>X-Accel-Redirect</c> (docs/tls.md, "X-Sendfile"): a 200 response from PHP
/// that carries one of these headers is answered by Kestrel from the named file, as Apache's
/// mod_xsendfile and nginx's internal redirect do, with ASP.NET's file result: Content-Length,
/// ETag, Last-Modified, conditional requests and byte ranges (206, 416). The file must lie inside
/// one of the --sendfile-root directories once every symbolic link is resolved.
/// <list type="bullet">
/// <item><c>X-Sendfile: /abs/path</c> names a file (mod_xsendfile, lighttpd, Symfony's BinaryFileResponse).</item>
/// <item><c>X-Accel-Redirect: /uri</c> is a URI path, percent-decoded and taken under each root in
/// turn (nginx's <c>location /… { internal; alias ROOT/; }</c>); an absolute path already inside a
/// root names that file.</item>
/// </list>
/// Refusals: a path outside every root, or not a regular file, is answered 500 and logged with
/// the reason (the application asked for something the server may not send: a server-side
/// error, and the path is not shown to the client); a path inside a root that does not exist is
/// answered 404. PHP's own headers are kept, except the two above, Content-Length and the body
/// PHP sent; without a Content-Type from PHP it comes from the file's extension.
/// </summary>
internal sealed partial class Sendfile
{
    /// <summary>The roots with every symbolic link resolved, each ending in "/".</summary>
    private readonly string[] _roots;
    /// <summary>The roots as given (absolute), each ending in "/".</summary>
    private readonly string[] _given;
    private readonly LogWriter _log;
    private static readonly FileExtensionContentTypeProvider s_types = new();

    /// <summary><paramref name="roots"/>: the allowed directories (resolved here; a missing one throws DirectoryNotFoundException).</summary>
    public Sendfile(IEnumerable<string> roots, LogWriter log)
    {
        _roots = roots.Select(r => RealPath(r) ?? throw new DirectoryNotFoundException($"--sendfile-root {r}: no such directory"))
            .Select(r => r.EndsWith('/') ? r : r + "/").ToArray();
        _given = roots.Select(r => Path.GetFullPath(r).TrimEnd('/') + "/").ToArray();
        _log = log;
    }

    private static bool IsInside(string path, string[] roots) => roots.Any(r => path.StartsWith(r, StringComparison.Ordinal));

    /// <summary>The header that names the file, when <paramref name="head"/> is a response this class answers; null otherwise.</summary>
    public static string? Target(ResponseHead head, out string header)
    {
        header = "";
        if (head.Status != 200 || head.File is not null || head.Stream is not null) return null;
        foreach (var (name, value) in head.Headers)
        {
            if (name.Equals("X-Sendfile", StringComparison.OrdinalIgnoreCase) || name.Equals("X-Accel-Redirect", StringComparison.OrdinalIgnoreCase))
            {
                header = name;
                return value;
            }
        }
        return null;
    }

    /// <summary>Answers <paramref name="context"/> from the file <paramref name="head"/> names; the status sent.</summary>
    public async Task<int> ServeAsync(HttpContext context, ResponseHead head, string header, string target)
    {
        try
        {
            var (path, refusal) = Resolve(header, target);
            if (path is null)
            {
                var status = refusal == "no such file" ? 404 : 500;
                _log.Error($"{header}: {target}: refused, {refusal} (--sendfile-root {string.Join(", ", _roots)}); answered {status}");
                await Answer(context, status, status == 404 ? "Not Found" : "Internal Server Error: the file the application named cannot be sent");
                return status;
            }
            var response = context.Response;
            string? contentType = null;
            foreach (var (name, value) in head.Headers)
            {
                if (name.Equals("X-Sendfile", StringComparison.OrdinalIgnoreCase) || name.Equals("X-Accel-Redirect", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Connection", StringComparison.OrdinalIgnoreCase) || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase))
                    continue;
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)) { contentType = value; continue; }
                response.Headers.Append(name, value);
            }
            contentType ??= s_types.TryGetContentType(path, out var byExtension) ? byExtension : "application/octet-stream";
            var info = new FileInfo(path);
            var modified = new DateTimeOffset(info.LastWriteTimeUtc);
            var etag = new EntityTagHeaderValue($"\"{modified.ToUnixTimeMilliseconds():x}-{info.Length:x}\"");
            await Results.File(path, contentType, lastModified: modified, entityTag: etag, enableRangeProcessing: true).ExecuteAsync(context);
            return response.StatusCode;
        }
        finally
        {
            if (head.Body is not null) ArrayPool<byte>.Shared.Return(head.Body);
        }
    }

    /// <summary>The real path of the file <paramref name="target"/> names, or null and why not.</summary>
    internal (string? Path, string Refusal) Resolve(string header, string target)
    {
        if (target.Length == 0 || target.Contains('\0')) return (null, "an empty or invalid path");
        var candidates = new List<string>();
        if (target.StartsWith('/')) candidates.Add(target);
        if (header.Equals("X-Accel-Redirect", StringComparison.OrdinalIgnoreCase))
        {
            var uri = Uri.UnescapeDataString(target.Split('?', 2)[0]).TrimStart('/');
            foreach (var root in _roots) candidates.Add(root + uri);
        }
        var inside = false;
        string? refusal = null;
        foreach (var candidate in candidates)
        {
            var full = Path.GetFullPath(candidate);
            var lexicallyInside = IsInside(full, _given) || IsInside(full, _roots);
            var real = RealPath(full);
            if (real is null)
            {
                inside |= lexicallyInside;
                continue;
            }
            if (!IsInside(real, _roots))
            {
                refusal ??= lexicallyInside ? $"a symbolic link leads outside the allowed directories (to {real})" : null;
                continue;
            }
            if (!File.Exists(real)) return (null, "not a regular file");
            return (real, "");
        }
        if (refusal is not null) return (null, refusal);
        return (null, inside ? "no such file" : "outside the allowed directories");
    }

    private static async Task Answer(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        await context.Response.WriteAsync(message + "\n");
    }

    /// <summary>realpath(3): the path with every symbolic link, "." and ".." resolved; null when it does not exist.</summary>
    private static string? RealPath(string path)
    {
        var resolved = RealPathNative(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero) return null;
        try { return Marshal.PtrToStringUTF8(resolved); }
        finally { Free(resolved); }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial IntPtr RealPathNative(string path, IntPtr resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(IntPtr pointer);
}
