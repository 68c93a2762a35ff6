using System.CommandLine;
using System.Security.Cryptography.X509Certificates;
using Askr.Cli;
using Askr.Supervision;
using Askr.Tls;

namespace Askr.Tests.Tls;

/// <summary>The --https-dev certificate's cache, and the HTTPS socket on a worker's command line.</summary>
public sealed class DevelopmentCertificateTests
{
    [Fact]
    public void The_development_certificate_is_made_once_reused_and_made_again_for_a_host_it_lacks()
    {
        var dir = Directory.CreateTempSubdirectory("askr-devcert-").FullName;
        try
        {
            var (cert, key, created) = DevelopmentCertificate.Ensure("127.0.0.1", dir);
            Assert.True(created);
            var first = X509CertificateLoader.LoadCertificateFromFile(cert).Thumbprint;
            if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(key));

            var again = DevelopmentCertificate.Ensure("localhost", dir);
            Assert.False(again.Created);
            Assert.Equal(first, X509CertificateLoader.LoadCertificateFromFile(again.CertificateFile).Thumbprint);

            var named = DevelopmentCertificate.Ensure("askr.test", dir);
            Assert.True(named.Created);
            using var c = X509Certificate2.CreateFromPemFile(named.CertificateFile, named.KeyFile);
            Assert.True(c.HasPrivateKey);
            Assert.True(c.MatchesHostname("askr.test") && c.MatchesHostname("localhost") && c.MatchesHostname("::1"));
            Assert.True(c.NotAfter - DateTime.Now > TimeSpan.FromDays(DevelopmentCertificate.ValidDays - 2));
            // Loads as the HTTPS port loads a certificate.
            Assert.Equal(c.Thumbprint, ServerCertificate.Load(named.CertificateFile, named.KeyFile).Certificate.Thumbprint);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void An_http_workers_command_line_carries_its_https_socket()
    {
        var options = new ServeOptions { Root = "/srv/app/public", WorkerScript = "/srv/app/worker.php", HttpsPort = 8443, Certificate = "/etc/c.pem" };
        var line = new WorkerCommandLine { Options = options, Slot = 0, WorkerId = 1, ListenFd = 42, HttpsListenFd = 43, ControlPath = "/tmp/c.sock" };
        var worker = new Command("worker") { TreatUnmatchedTokensAsErrors = false };
        WorkerCommandLine.AddTo(worker);
        var back = WorkerCommandLine.Bind(new RootCommand { worker }.Parse(line.Arguments().ToArray()), options)!;
        Assert.Equal(((int?)42, (int?)43), (back.ListenFd, back.HttpsListenFd));
        var arguments = line.Arguments().ToList();
        Assert.Equal("8443", arguments[arguments.IndexOf("--https-port") + 1]);
        Assert.Equal("/etc/c.pem", arguments[arguments.IndexOf("--certificate") + 1]);
    }
}
