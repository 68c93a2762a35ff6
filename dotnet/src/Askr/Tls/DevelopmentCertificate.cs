using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Askr.Tls;

/// <summary>
/// The self-signed certificate of --https-dev: made with <see cref="CertificateRequest"/> the first
/// time it is needed and kept as two PEM files in the user's cache directory
/// (<c>$XDG_CACHE_HOME/askr/dev-certificate</c>, else <c>~/.cache/askr/dev-certificate</c>, else the
/// temp directory), never in the project. It is made again when it expires within 30 days or
/// does not name the host askr serves. Names: localhost, 127.0.0.1, ::1 and --host when that is a
/// concrete name or address. For development only: no browser trusts it (curl -k, or add
/// the PEM to the client's trust store).
/// </summary>
public static class DevelopmentCertificate
{
    /// <summary>Days a new development certificate is valid.</summary>
    public const int ValidDays = 365;
    private static readonly TimeSpan RenewBefore = TimeSpan.FromDays(30);

    /// <summary>The directory the certificate is kept in (created when missing).</summary>
    public static string Directory()
    {
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        var cache = !string.IsNullOrEmpty(xdg) ? xdg
            : !string.IsNullOrEmpty(home) ? Path.Combine(home, ".cache")
            : Path.GetTempPath();
        return Path.Combine(cache, "askr", "dev-certificate");
    }

    /// <summary>
    /// The PEM certificate and key files for <paramref name="host"/>, made now if the cached ones are
    /// missing, about to expire or lack the host. Returns whether a new one was made.
    /// Throws IOException or UnauthorizedAccessException when the directory cannot be written.
    /// </summary>
    public static (string CertificateFile, string KeyFile, bool Created) Ensure(string host, string? directory = null)
    {
        var dir = directory ?? Directory();
        System.IO.Directory.CreateDirectory(dir);
        var certFile = Path.Combine(dir, "certificate.pem");
        var keyFile = Path.Combine(dir, "key.pem");
        var names = Names(host);
        if (IsUsable(certFile, keyFile, names)) return (certFile, keyFile, false);

        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=askr development certificate", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication")], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name, out var ip)) san.AddIpAddress(ip);
            else san.AddDnsName(name);
        }
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddDays(ValidDays));

        // Written beside, then renamed: another askr starting at the same time never reads half a file.
        var suffix = $".{Environment.ProcessId}.tmp";
        File.WriteAllText(keyFile + suffix, key.ExportPkcs8PrivateKeyPem());
        if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(keyFile + suffix, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(certFile + suffix, certificate.ExportCertificatePem());
        File.Move(keyFile + suffix, keyFile, overwrite: true);
        File.Move(certFile + suffix, certFile, overwrite: true);
        return (certFile, keyFile, true);
    }

    /// <summary>The names the certificate must hold for <paramref name="host"/>.</summary>
    public static IReadOnlyList<string> Names(string host)
    {
        var names = new List<string> { "localhost", "127.0.0.1", "::1" };
        var h = host.Trim('[', ']');
        if (h is not ("" or "*" or "0.0.0.0" or "::") && !names.Contains(h, StringComparer.OrdinalIgnoreCase)) names.Add(h);
        return names;
    }

    private static bool IsUsable(string certFile, string keyFile, IReadOnlyList<string> names)
    {
        if (!File.Exists(certFile) || !File.Exists(keyFile)) return false;
        try
        {
            using var c = X509Certificate2.CreateFromPemFile(certFile, keyFile);
            if (c.NotAfter.ToUniversalTime() - DateTime.UtcNow < RenewBefore) return false;
            return names.All(n => c.MatchesHostname(n, allowWildcards: false, allowCommonName: false));
        }
        catch (Exception e) when (e is CryptographicException or IOException or ArgumentException)
        {
            return false;
        }
    }
}
