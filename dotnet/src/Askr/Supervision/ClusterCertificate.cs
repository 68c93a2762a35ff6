using System.Security.Cryptography.X509Certificates;

namespace Askr.Supervision;

/// <summary>The cluster's TLS certificate (--cluster-certificate, --cluster-key), as Kestrel can serve it.</summary>
internal static class ClusterCertificate
{
    /// <summary>
    /// Loads a PEM certificate and its private key (in <paramref name="keyFile"/>, or in the
    /// certificate file when null). Kestrel on Linux needs the key in a form it can use for TLS,
    /// hence the export to PKCS#12 and back. Throws IOException, CryptographicException or
    /// UnauthorizedAccessException with the reason.
    /// </summary>
    public static X509Certificate2 Load(string certificateFile, string? keyFile)
    {
        using var pem = X509Certificate2.CreateFromPemFile(certificateFile, keyFile);
        return X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
    }
}
