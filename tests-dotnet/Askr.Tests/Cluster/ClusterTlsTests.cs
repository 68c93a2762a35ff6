using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Askr.Cluster.Transport;
using Askr.Tests.Support;
using Grpc.Core;
using W = Askr.Cluster.Wire;

namespace Askr.Tests.Cluster;

/// <summary>Two nodes on loopback whose cluster traffic is TLS with the cluster's certificate.</summary>
[Collection("cluster")]
public sealed class ClusterTlsTests
{
    private const string Secret = "askr-tls-test-secret-0123456789";

    private static (string Cert, string Key) WriteCertificate(string dir)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=askr-cluster", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        var certPath = Path.Combine(dir, "cluster.pem");
        var keyPath = Path.Combine(dir, "cluster.key");
        File.WriteAllText(certPath, cert.ExportCertificatePem());
        File.WriteAllText(keyPath, key.ExportPkcs8PrivateKeyPem());
        return (certPath, keyPath);
    }

    [Fact]
    public async Task Nodes_sharing_the_cluster_certificate_replicate_over_tls_and_plaintext_clients_are_not_served()
    {
        var dir = Directory.CreateTempSubdirectory("askr-tls-").FullName;
        try
        {
            var (cert, key) = WriteCertificate(dir);
            var ports = new[] { AskrServer.FreePort(), AskrServer.FreePort() };
            var tables = Path.Combine(AskrServer.PhpDir, "tables.json");
            string[] Args(int i) => ["--tables", tables, "--cluster-port", ports[i].ToString(), "--seeds", $"127.0.0.1:{ports[0]}",
                "--cluster-secret", Secret, "--cluster-certificate", cert, "--cluster-key", key];
            await using var one = await AskrServer.StartAsync("tables.php", 1, Args(0));
            await using var two = await AskrServer.StartAsync("tables.php", 1, Args(1));
            Assert.Contains(one.Lines, l => l.Contains("(TLS)"));

            await one.Client.GetStringAsync($"/set?key=secure&row={Uri.EscapeDataString(JsonSerializer.Serialize(new { name = "over-tls" }))}");
            Assert.True(await AskrServer.EventuallyAsync(async () =>
                (await two.GetJsonAsync("/get?key=secure&column=name")).GetProperty("value").ValueKind == JsonValueKind.String, TimeSpan.FromSeconds(15)),
                string.Join('\n', two.Lines.TakeLast(10)));

            // A client speaking plaintext HTTP/2 gets no gRPC answer from a TLS endpoint...
            using var plain = new PeerChannels(new PeerChannelOptions { Secret = Secret });
            await Assert.ThrowsAsync<RpcException>(async () => await plain.Membership($"127.0.0.1:{ports[0]}").PingAsync(new W.PingMessage(), plain.Call(TimeSpan.FromSeconds(3))));

            // ...nor does a TLS client that does not trust the cluster's certificate (pins another one)...
            using var otherCertificate = Transport.CallTests.SelfSigned();
            using var stranger = new PeerChannels(new PeerChannelOptions { Secret = Secret, PinnedCertificate = otherCertificate });
            var e = await Assert.ThrowsAsync<RpcException>(async () => await stranger.Membership($"127.0.0.1:{ports[0]}").PingAsync(new W.PingMessage(), stranger.Call(TimeSpan.FromSeconds(3))));
            Assert.Equal(StatusCode.Internal, e.StatusCode); // Grpc.Net.Client: "The SSL connection could not be established"

            // ...while one that pins the cluster's certificate is served.
            using var pem = X509Certificate2.CreateFromPemFile(cert, key);
            using var member = new PeerChannels(new PeerChannelOptions { Secret = Secret, PinnedCertificate = pem });
            var ack = await member.Membership($"127.0.0.1:{ports[0]}").PingAsync(new W.PingMessage { Sequence = 11 }, member.Call(TimeSpan.FromSeconds(5)));
            Assert.Equal(11UL, ack.Sequence);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
