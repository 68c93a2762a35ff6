using System.Net.Security;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.AspNetCore.Hosting;

namespace Askr.Tls;

/// <summary>How a worker's Kestrel serves the HTTPS port (--https-port; docs/tls.md).</summary>
internal static class HttpsEndpoint
{
    // ALPN (RFC 7301), in the server's order of preference: HTTP/2 (RFC 9113 §3.2) when the client
    // offers it, else HTTP/1.1, which every client gets that offers no ALPN at all.
    private static readonly List<SslApplicationProtocol> s_alpn = [SslApplicationProtocol.Http2, SslApplicationProtocol.Http11];

    /// <summary>
    /// TLS on <paramref name="listen"/> with HTTP/1.1 and HTTP/2 by ALPN. The certificate is picked
    /// per handshake from <paramref name="certificate"/> (Kestrel's per-connection TLS callback, the
    /// selector that also carries the chain), so a reload reaches the next connection.
    /// </summary>
    public static void Configure(ListenOptions listen, ServerCertificate certificate)
    {
        listen.Protocols = HttpProtocols.Http1AndHttp2;
        listen.UseHttps(new TlsHandshakeCallbackOptions
        {
            OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions
            {
                ServerCertificateContext = certificate.Context,
                ApplicationProtocols = s_alpn,
            }),
        });
    }
}
