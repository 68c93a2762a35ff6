using Askr.Cli;
using Askr.Logging;

namespace Askr.Tls;

/// <summary>What <c>askr serve</c> checks of TLS before it starts a worker (docs/tls.md).</summary>
internal static class TlsStartup
{
    /// <summary>
    /// With --https-dev and no --certificate, makes (or finds cached) the development certificate
    /// and names its files, so every worker loads the same one. Then loads the certificate once, so
    /// a file that cannot be used stops askr at start with the reason (exit 1) instead of failing
    /// in every worker. Returns the options workers get, or null after logging the error.
    /// </summary>
    public static ServeOptions? Prepare(ServeOptions options, LogWriter log)
    {
        if (options.HttpsPort <= 0) return options;
        if (options.Certificate is null && options.HttpsDev)
        {
            try
            {
                var (cert, key, created) = DevelopmentCertificate.Ensure(options.Host);
                log.Info($"{(created ? "made a" : "using the cached")} self-signed development certificate {cert} (clients must trust it, or curl -k)");
                options = options with { Certificate = cert, Key = key };
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                log.Error($"--https-dev: cannot make the development certificate in {DevelopmentCertificate.Directory()}: {e.Message}");
                return null;
            }
        }
        try
        {
            var loaded = ServerCertificate.Load(options.Certificate!, options.Key);
            var c = loaded.Certificate;
            log.Info($"HTTPS certificate: {ServerCertificate.Describe(c)}");
            if (c.NotAfter.ToUniversalTime() < DateTime.UtcNow) log.Warning($"the HTTPS certificate expired on {c.NotAfter.ToUniversalTime():yyyy-MM-dd}");
        }
        catch (CertificateException e)
        {
            log.Error($"--certificate: {e.Message}");
            return null;
        }
        return options;
    }
}
