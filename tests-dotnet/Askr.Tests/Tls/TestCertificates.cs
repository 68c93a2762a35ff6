using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Askr.Tests.Tls;

/// <summary>Self-signed certificates for the tests, written as PEM files in a temp directory deleted on dispose.</summary>
public sealed class TestCertificates : IDisposable
{
    public string Directory { get; } = System.IO.Directory.CreateTempSubdirectory("askr-tls-test-").FullName;
    public string CertificateFile => Path.Combine(Directory, "cert.pem");
    public string KeyFile => Path.Combine(Directory, "key.pem");

    /// <summary>Writes a new certificate for localhost/127.0.0.1 (the files are replaced by rename); its SHA-1 thumbprint.</summary>
    public string Write(string commonName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddDnsName("askr.test");
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        File.WriteAllText(KeyFile + ".tmp", key.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(CertificateFile + ".tmp", certificate.ExportCertificatePem());
        File.Move(KeyFile + ".tmp", KeyFile, overwrite: true);
        File.Move(CertificateFile + ".tmp", CertificateFile, overwrite: true);
        return certificate.Thumbprint;
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}
