using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.StaticFiles;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Askr.Front;

/// <summary>
/// Precompressed static files: for a GET or HEAD of a static file <c>app.css</c> whose client
/// accepts <c>br</c> (or <c>gzip</c>), <c>app.css.br</c> (or <c>app.css.gz</c>) beside it is sent
/// instead, with <c>Content-Encoding</c>, the original file's Content-Type and
/// <c>Vary: Accept-Encoding</c> (nginx's gzip_static / brotli_static, Caddy's
/// <c>file_server precompressed</c>). The encoded file is its own representation: its own
/// ETag and Last-Modified, conditional requests and byte ranges on the encoded bytes (RFC 9110
/// §8.8.3), through ASP.NET's file result. Anything else goes on to the static-file middleware.
/// </summary>
internal sealed class PrecompressedFiles(RequestDelegate next, IFileProvider files, IContentTypeProvider types)
{
    private static readonly (string Coding, string Suffix)[] Codings = [("br", ".br"), ("gzip", ".gz")];

    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || !request.Path.HasValue
            || StringValues.IsNullOrEmpty(request.Headers.AcceptEncoding)
            || !types.TryGetContentType(request.Path.Value!, out var contentType))
            return next(context);
        var original = files.GetFileInfo(request.Path.Value!);
        if (!original.Exists || original.IsDirectory) return next(context);
        var accepted = StringWithQualityHeaderValue.TryParseList(request.Headers.AcceptEncoding.ToArray()!, out var list) ? list! : [];
        foreach (var (coding, suffix) in Codings)
        {
            if (!Accepts(accepted, coding)) continue;
            var encoded = files.GetFileInfo(request.Path.Value + suffix);
            if (!encoded.Exists || encoded.IsDirectory || encoded.PhysicalPath is null) continue;
            var response = context.Response;
            response.Headers.ContentEncoding = coding;
            response.Headers.Append(HeaderNames.Vary, HeaderNames.AcceptEncoding);
            var modified = encoded.LastModified;
            var etag = new EntityTagHeaderValue($"\"{modified.ToUnixTimeMilliseconds():x}-{encoded.Length:x}-{coding}\"");
            return Results.File(encoded.PhysicalPath, contentType, lastModified: modified, entityTag: etag, enableRangeProcessing: true).ExecuteAsync(context);
        }
        return next(context);
    }

    /// <summary>Whether <paramref name="coding"/> is acceptable (RFC 9110 §12.5.3): listed, or "*", with q &gt; 0.</summary>
    private static bool Accepts(IList<StringWithQualityHeaderValue> accepted, string coding)
    {
        double? star = null;
        foreach (var a in accepted)
        {
            if (a.Value.Equals(coding, StringComparison.OrdinalIgnoreCase)) return (a.Quality ?? 1) > 0;
            if (a.Value == "*") star = a.Quality ?? 1;
        }
        return star > 0;
    }
}
