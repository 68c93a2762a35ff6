using System.IO.Compression;
using Askr.Cli;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.ResponseCompression;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Askr.Front;

/// <summary>
/// Response compression (docs/tls.md, "Compression"): ASP.NET Core's ResponseCompression
/// middleware with Brotli and gzip, negotiated on Accept-Encoding (q-values honoured, Brotli
/// preferred on a tie), Vary: Accept-Encoding added. It leaves alone: responses that already
/// have a Content-Encoding, partial content (Content-Range), types outside
/// <see cref="MimeTypes"/> (images, video, archives are compressed already), and, here,
/// responses whose declared Content-Length is below --compression-min-size.
/// </summary>
internal static class Compression
{
    /// <summary>Text-like types worth compressing: ASP.NET's defaults plus SVG, XML variants and fonts that are not compressed by their format.</summary>
    public static readonly string[] MimeTypes =
    [
        .. ResponseCompressionDefaults.MimeTypes,
        "image/svg+xml", "application/xhtml+xml", "application/rss+xml", "application/atom+xml",
        "application/ld+json", "application/manifest+json", "application/x-javascript",
        "font/ttf", "font/otf", "application/vnd.ms-fontobject",
    ];

    public static void AddServices(IServiceCollection services, ServeOptions options)
    {
        // Registered before AddResponseCompression, whose TryAdd then keeps it.
        services.AddSingleton<IResponseCompressionProvider>(sp => new MinimumSizeProvider(sp, sp.GetRequiredService<IOptions<ResponseCompressionOptions>>(), options.CompressionMinSize));
        services.AddResponseCompression(o =>
        {
            // Over TLS too, as Caddy does: a page that reflects a secret and attacker input in one
            // body is open to BREACH; such an app sets Content-Encoding: identity, or --no-compression.
            o.EnableForHttps = true;
            o.Providers.Add<BrotliCompressionProvider>();
            o.Providers.Add<GzipCompressionProvider>();
            o.MimeTypes = MimeTypes;
        });
        // On the fly: the fastest levels (Brotli quality 1 still beats gzip -6 on text); static
        // files worth more are precompressed (.br, .gz, PrecompressedFiles).
        services.Configure<BrotliCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
        services.Configure<GzipCompressionProviderOptions>(o => o.Level = CompressionLevel.Fastest);
    }

    /// <summary>ASP.NET's provider, plus a minimum size when the response declares its length (a stream of unknown length is compressed).</summary>
    private sealed class MinimumSizeProvider(IServiceProvider services, IOptions<ResponseCompressionOptions> options, long minimum)
        : ResponseCompressionProvider(services, options)
    {
        public override bool ShouldCompressResponse(HttpContext context) =>
            (context.Response.ContentLength is not { } length || length >= minimum) && base.ShouldCompressResponse(context);
    }
}
