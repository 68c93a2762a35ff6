using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Askr.Logging;

namespace Askr.Tls;

/// <summary>
/// The HTTPS port's certificate (--certificate, --key, PEM), held so it can be swapped while the
/// worker runs: Kestrel asks <see cref="Current"/> for every new TLS connection
/// (TlsHandshakeCallbackOptions), so a <see cref="Reload"/> (SIGHUP) takes effect for the next
/// connection, and connections already open keep the certificate they were set up with.
/// A reload that fails (a file half written, a key that does not match) keeps the previous
/// certificate and says why. The certificate file may hold the chain after the leaf
/// (Let's Encrypt's fullchain.pem): the intermediates are sent in the handshake.
/// </summary>
public sealed class ServerCertificate
{
    private volatile Loaded _current;

    private ServerCertificate(string certificateFile, string? keyFile, Loaded loaded)
    {
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        _current = loaded;
    }

    public string CertificateFile { get; }
    /// <summary>The private key's PEM file; null: the key is in <see cref="CertificateFile"/>.</summary>
    public string? KeyFile { get; }

    /// <summary>The leaf certificate served now.</summary>
    public X509Certificate2 Certificate => _current.Leaf;

    /// <summary>What the TLS handshake of a new connection uses: the current certificate with its chain.</summary>
    public SslStreamCertificateContext Context => _current.Context;

    /// <summary>
    /// Loads the PEM certificate (with any chain after it) and its private key. Throws
    /// <see cref="CertificateException"/> with the file and the reason.
    /// </summary>
    public static ServerCertificate Load(string certificateFile, string? keyFile) =>
        new(certificateFile, keyFile, Read(certificateFile, keyFile));

    /// <summary>Reads the files again; on failure the current certificate stays and the reason is returned.</summary>
    public string? Reload()
    {
        try
        {
            _current = Read(CertificateFile, KeyFile);
            return null;
        }
        catch (CertificateException e)
        {
            return e.Message;
        }
    }

    /// <summary>Reloads and logs the outcome (the worker's SIGHUP).</summary>
    public void ReloadAndLog(LogWriter log)
    {
        var before = Certificate.Thumbprint;
        if (Reload() is { } error) log.Error($"TLS certificate not reloaded, keeping {before}: {error}");
        else log.Info($"TLS certificate reloaded: {Describe(Certificate)}");
    }

    public static string Describe(X509Certificate2 c) =>
        $"{c.Subject} (SHA-1 {c.Thumbprint}, valid until {c.NotAfter.ToUniversalTime():yyyy-MM-dd})";

    private static Loaded Read(string certificateFile, string? keyFile)
    {
        try
        {
            using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
            if (!pem.HasPrivateKey) throw new CertificateException($"{certificateFile}: no private key");
            // Kestrel on Linux needs the key in a form SslStream can use: round trip through PKCS#12.
            var leaf = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            var all = new X509Certificate2Collection();
            all.ImportFromPemFile(certificateFile);
            var chain = new X509Certificate2Collection();
            foreach (var c in all)
                if (c.Thumbprint != leaf.Thumbprint) chain.Add(c);
            // offline: build the chain from what the file gives, never fetch intermediates at handshake time.
            var context = SslStreamCertificateContext.Create(leaf, chain, offline: true);
            return new Loaded(leaf, context);
        }
        catch (Exception e) when (e is IOException or CryptographicException or UnauthorizedAccessException or ArgumentException)
        {
            var files = keyFile is null ? certificateFile : $"{certificateFile} with key {keyFile}";
            throw new CertificateException($"{files}: {e.Message}", e);
        }
    }

    private sealed record Loaded(X509Certificate2 Leaf, SslStreamCertificateContext Context);
}

/// <summary>A certificate or key file that cannot be used; the message names the file and the reason.</summary>
public sealed class CertificateException(string message, Exception? inner = null) : Exception(message, inner);
