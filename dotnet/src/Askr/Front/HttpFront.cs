using Askr.Cli;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Askr.Front;

/// <summary>
/// The HTTP front of a worker, before static files and PHP: ASP.NET Core's own middleware,
/// configured from the serve options (docs/tls.md), not rewritten.
/// </summary>
internal static class HttpFront
{
    /// <summary>Registers the services of the middleware <see cref="Use"/> adds.</summary>
    public static void AddServices(IServiceCollection services, ServeOptions options)
    {
        if (options.HttpRedirect)
        {
            // 308 (RFC 9110 §15.4.9): permanent, and the method and body stay as they were, as
            // Caddy (FrankenPHP) answers its HTTP->HTTPS redirect.
            services.AddHttpsRedirection(o =>
            {
                o.RedirectStatusCode = StatusCodes.Status308PermanentRedirect;
                o.HttpsPort = options.HttpsPort;
            });
        }
        if (options.HstsMaxAgeSeconds > 0)
        {
            // ASP.NET's defaults otherwise: no includeSubDomains, no preload, and never for
            // localhost, 127.0.0.1 and [::1] (a browser would pin HSTS on every local port).
            services.AddHsts(o => o.MaxAge = TimeSpan.FromSeconds(options.HstsMaxAgeSeconds));
        }
        if (options.Compression) Compression.AddServices(services, options);
    }

    /// <summary>
    /// Adds the front's middleware to the pipeline, in order: redirect, HSTS, compression, then
    /// precompressed files of <paramref name="files"/> (before the static-file middleware).
    /// </summary>
    public static void Use(WebApplication app, ServeOptions options, Microsoft.AspNetCore.Builder.StaticFileOptions files)
    {
        if (options.HttpRedirect) app.UseHttpsRedirection();
        if (options.HstsMaxAgeSeconds > 0) app.UseHsts();
        if (options.Compression)
        {
            app.UseResponseCompression();
            app.UseMiddleware<PrecompressedFiles>(files.FileProvider!, files.ContentTypeProvider);
        }
    }
}
