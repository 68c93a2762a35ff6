using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Askr.Tests.Support;

namespace Askr.Tests.Tls;

/// <summary>One askr serve with --https-port, a PEM certificate, --hsts and --http-redirect.</summary>
public sealed class TlsServer : IAsyncLifetime
{
    public TestCertificates Certificates { get; } = new();
    public string Thumbprint { get; private set; } = "";
    public int HttpsPort { get; } = AskrServer.FreePort();
    public AskrServer Server { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Thumbprint = Certificates.Write("askr tls test");
        Server = await AskrServer.StartAsync("router.php", 1, (IReadOnlyDictionary<string, string>?)null,
            "--https-port", HttpsPort.ToString(), "--certificate", Certificates.CertificateFile, "--key", Certificates.KeyFile,
            "--hsts", "--http-redirect");
    }

    public async Task DisposeAsync()
    {
        await Server.DisposeAsync();
        Certificates.Dispose();
    }
}

/// <summary>TLS on the HTTPS port: ALPN, what PHP sees, HSTS, the HTTP->HTTPS redirect (docs/tls.md).</summary>
public sealed class TlsTests : IClassFixture<TlsServer>
{
    private readonly TlsServer _tls;

    public TlsTests(TlsServer tls) => _tls = tls;

    /// <summary>An HttpClient that trusts only <paramref name="thumbprint"/>, HTTP/2 exactly.</summary>
    private static HttpClient Http2Client(int port, string thumbprint) => new(new SocketsHttpHandler
    {
        SslOptions = { RemoteCertificateValidationCallback = (_, c, _, _) => c is not null && new X509Certificate2(c).Thumbprint == thumbprint },
    })
    {
        BaseAddress = new Uri($"https://localhost:{port}"),
        DefaultRequestVersion = HttpVersion.Version20,
        DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        Timeout = TimeSpan.FromSeconds(20),
    };

    [Fact]
    public async Task An_HttpClient_gets_http2_over_tls_and_php_sees_https_on_the_https_port_and_scheme()
    {
        using var client = Http2Client(_tls.HttpsPort, _tls.Thumbprint);
        var response = await client.GetAsync("/echo?q=1");
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        Assert.Equal(HttpVersion.Version20, response.Version);
        var server = JsonDocument.Parse(body).RootElement.GetProperty("server");
        Assert.Equal("on", server.GetProperty("HTTPS").GetString());
        Assert.Equal("https", server.GetProperty("REQUEST_SCHEME").GetString());
        Assert.Equal(_tls.HttpsPort.ToString(), server.GetProperty("SERVER_PORT").GetString());
        Assert.Equal("HTTP/2", server.GetProperty("SERVER_PROTOCOL").GetString());
    }

    [Fact]
    public async Task Curl_negotiates_http2_by_alpn_and_still_gets_http11_when_it_asks_for_it()
    {
        var url = $"https://127.0.0.1:{_tls.HttpsPort}/echo";
        var h2 = await Curl.RunAsync("-k", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", url);
        Assert.Equal("2 200", h2.Stdout);
        var h1 = await Curl.RunAsync("-k", "--http1.1", "-o", "/dev/null", "-w", "%{http_version} %{http_code}", url);
        Assert.Equal("1.1 200", h1.Stdout);
        // Without -k, curl refuses the self-signed certificate, and with it as CA it accepts it.
        var untrusted = await Curl.RunAsync("--http2", "-o", "/dev/null", url);
        Assert.NotEqual(0, untrusted.ExitCode);
        var trusted = await Curl.RunAsync("--cacert", _tls.Certificates.CertificateFile, "--resolve", $"localhost:{_tls.HttpsPort}:127.0.0.1",
            "-o", "/dev/null", "-w", "%{http_version}", $"https://localhost:{_tls.HttpsPort}/echo");
        Assert.Equal("2", trusted.Stdout);
    }

    [Fact]
    public async Task Plain_http_is_redirected_with_308_to_the_https_port_keeping_path_and_query()
    {
        var r = await Curl.RunAsync("-o", "/dev/null", "-w", "%{http_code} %{redirect_url}", "-X", "POST",
            "--resolve", $"askr.test:{_tls.Server.Port}:127.0.0.1", $"http://askr.test:{_tls.Server.Port}/echo?a=b");
        Assert.Equal($"308 https://askr.test:{_tls.HttpsPort}/echo?a=b", r.Stdout);
    }

    [Fact]
    public async Task Https_responses_carry_strict_transport_security_but_not_for_localhost()
    {
        var named = await Curl.RunAsync("-k", "-D", "-", "-o", "/dev/null", "--resolve", $"askr.test:{_tls.HttpsPort}:127.0.0.1", $"https://askr.test:{_tls.HttpsPort}/echo");
        Assert.Contains("strict-transport-security: max-age=31536000", named.Stdout, StringComparison.OrdinalIgnoreCase);
        // ASP.NET's HSTS middleware leaves out localhost, 127.0.0.1 and [::1]: a browser would pin every local port.
        var local = await Curl.RunAsync("-k", "-D", "-", "-o", "/dev/null", $"https://127.0.0.1:{_tls.HttpsPort}/echo");
        Assert.DoesNotContain("strict-transport-security", local.Stdout, StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>Certificate reloads, the development certificate, h2c and refused TLS options, each on its own askr serve.</summary>
public sealed class TlsLifecycleTests
{
    /// <summary>A TLS handshake on a new connection: the server certificate's SHA-1 thumbprint and the ALPN protocol.</summary>
    private static async Task<(string Thumbprint, string Protocol)> HandshakeAsync(int port)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        await using var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            ApplicationProtocols = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11],
        });
        return (new X509Certificate2(ssl.RemoteCertificate!).Thumbprint, ssl.NegotiatedApplicationProtocol.ToString());
    }

    private static async Task<bool> ServesAsync(int port, string thumbprint) =>
        await AskrServer.EventuallyAsync(async () => (await HandshakeAsync(port)).Thumbprint == thumbprint, TimeSpan.FromSeconds(20));

    [Fact]
    public async Task Sighup_swaps_the_certificate_for_new_connections_without_restarting_the_worker_and_keeps_it_when_the_new_file_is_bad()
    {
        using var certs = new TestCertificates();
        var first = certs.Write("first");
        var https = AskrServer.FreePort();
        await using var server = await AskrServer.StartAsync("router.php", 1, (IReadOnlyDictionary<string, string>?)null,
            "--https-port", https.ToString(), "--certificate", certs.CertificateFile, "--key", certs.KeyFile);
        var (thumb, alpn) = await HandshakeAsync(https);
        Assert.Equal(first, thumb);
        Assert.Equal("h2", alpn);

        // The worker's own SIGHUP (what the supervisor sends it before a rolling reload): same process, new certificate.
        var pids = await server.WorkerPidsAsync();
        var second = certs.Write("second");
        AskrServer.SignalPid(pids[0], AskrServer.SigHup);
        Assert.True(await ServesAsync(https, second), "the new certificate was not served after the worker's SIGHUP");
        Assert.Equal(pids, await server.WorkerPidsAsync());

        // The supervisor's SIGHUP (certbot's deploy hook, octane:reload): new connections get the new one.
        var third = certs.Write("third");
        server.Signal(AskrServer.SigHup);
        Assert.True(await ServesAsync(https, third), "the new certificate was not served after the supervisor's SIGHUP");
        Assert.True(await server.WaitForLineAsync(l => l.Contains("reload complete"), TimeSpan.FromSeconds(60)));

        // A file that cannot be used: the worker says why and keeps serving the certificate it has.
        File.WriteAllText(certs.CertificateFile, "not a certificate\n");
        pids = await server.WorkerPidsAsync();
        AskrServer.SignalPid(pids[0], AskrServer.SigHup);
        Assert.True(await server.WaitForLineAsync(l => l.Contains("TLS certificate not reloaded"), TimeSpan.FromSeconds(20)));
        Assert.Equal(third, (await HandshakeAsync(https)).Thumbprint);
    }

    [Fact]
    public async Task Https_dev_makes_a_cached_self_signed_certificate_outside_the_project_and_http2_cleartext_serves_h2c()
    {
        var cache = Directory.CreateTempSubdirectory("askr-xdg-").FullName;
        try
        {
            var https = AskrServer.FreePort();
            await using var server = await AskrServer.StartAsync("router.php", 1, new Dictionary<string, string> { ["XDG_CACHE_HOME"] = cache },
                "--https-port", https.ToString(), "--https-dev", "--http2-cleartext");
            var file = Path.Combine(cache, "askr", "dev-certificate", "certificate.pem");
            Assert.True(File.Exists(file), "no development certificate in $XDG_CACHE_HOME/askr/dev-certificate");
            using var cached = X509CertificateLoader.LoadCertificateFromFile(file);
            Assert.Equal(cached.Thumbprint, (await HandshakeAsync(https)).Thumbprint);
            Assert.True(cached.MatchesHostname("localhost") && cached.MatchesHostname("127.0.0.1"));

            var tls = await Curl.RunAsync("-k", "--http2", "-w", "%{http_version}", "-o", "/dev/null", $"https://127.0.0.1:{https}/echo");
            Assert.Equal("2", tls.Stdout);
            var h2c = await Curl.RunAsync("--http2-prior-knowledge", "-w", " %{http_version}", $"http://127.0.0.1:{server.Port}/echo");
            Assert.EndsWith(" 2", h2c.Stdout);
            Assert.Equal("http", JsonDocument.Parse(h2c.Stdout[..^2]).RootElement.GetProperty("server").GetProperty("REQUEST_SCHEME").GetString());
        }
        finally
        {
            Directory.Delete(cache, recursive: true);
        }
    }

    private static async Task<(int Code, string Output)> RunServeAsync(params string[] extra)
    {
        var psi = new ProcessStartInfo(AskrServer.Binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "serve", "--root", Path.Combine(AskrServer.PhpDir, "public"), "--worker-script", Path.Combine(AskrServer.PhpDir, "router.php"),
                     "--port", AskrServer.FreePort().ToString(), "--workers", "1" }.Concat(extra))
            psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var output = Task.WhenAll(process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync());
        try
        {
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        return (process.ExitCode, string.Concat(await output));
    }

    [Fact]
    public async Task Tls_options_that_cannot_work_are_refused_at_start_with_the_reason()
    {
        var port = AskrServer.FreePort().ToString();
        var (code, output) = await RunServeAsync("--https-port", port);
        Assert.Equal(2, code);
        Assert.Contains("--https-port needs --certificate", output);

        (code, output) = await RunServeAsync("--http-redirect");
        Assert.Equal(2, code);
        Assert.Contains("--http-redirect redirects to the HTTPS port", output);

        using var certs = new TestCertificates();
        File.WriteAllText(certs.CertificateFile, "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        (code, output) = await RunServeAsync("--https-port", port, "--certificate", certs.CertificateFile);
        Assert.Equal(1, code);
        Assert.Contains(certs.CertificateFile, output);
    }
}
