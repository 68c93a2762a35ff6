using System.Security.Cryptography;
using System.Text;

namespace Askr.WebSockets.Pusher;

/// <summary>
/// The Pusher Channels signatures: lowercase hex HMAC-SHA256 with the app secret as key.
/// Channel auth (https://pusher.com/docs/channels/library_auth_reference/auth-signatures/):
/// <c>key:hmac(socket_id:channel)</c> for private channels, <c>key:hmac(socket_id:channel:channel_data)</c>
/// for presence channels. HTTP API requests (https://pusher.com/docs/channels/library_auth_reference/rest-api/#authentication):
/// hmac of <c>METHOD\nPATH\nquery</c>, query being every parameter but <c>auth_signature</c>, names
/// lowercased, sorted by name, joined as <c>name=value&amp;...</c> with the values not URL-encoded.
/// </summary>
public static class PusherSignature
{
    /// <summary>Lowercase hex HMAC-SHA256 of bytes (a webhook body's X-Pusher-Signature).</summary>
    public static string Hmac(string secret, byte[] message) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));

    public static string Hmac(string secret, string message) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(message)));

    /// <summary>The <c>auth</c> field a client sends to subscribe (what Laravel's /broadcasting/auth returns).</summary>
    public static string ChannelAuth(PusherApp app, string socketId, string channel, string? channelData = null) =>
        app.Key + ":" + Hmac(app.Secret, channelData is null ? $"{socketId}:{channel}" : $"{socketId}:{channel}:{channelData}");

    /// <summary>Whether <paramref name="auth"/> is <see cref="ChannelAuth"/>, compared in constant time.</summary>
    public static bool VerifyChannelAuth(PusherApp app, string? auth, string socketId, string channel, string? channelData = null) =>
        auth is not null && FixedTimeEquals(auth, ChannelAuth(app, socketId, channel, channelData));

    /// <summary>
    /// The <c>auth</c> of <c>pusher:signin</c> (user authentication, https://pusher.com/docs/channels/library_auth_reference/auth-signatures/):
    /// <c>key:hmac(socket_id::user::user_data)</c>, user_data being the JSON text exactly as the client sends it.
    /// </summary>
    public static string UserAuth(PusherApp app, string socketId, string userData) =>
        app.Key + ":" + Hmac(app.Secret, $"{socketId}::user::{userData}");

    /// <summary>Whether <paramref name="auth"/> is <see cref="UserAuth"/>, compared in constant time.</summary>
    public static bool VerifyUserAuth(PusherApp app, string? auth, string socketId, string userData) =>
        auth is not null && FixedTimeEquals(auth, UserAuth(app, socketId, userData));

    /// <summary>The string an HTTP API request signs.</summary>
    public static string RequestStringToSign(string method, string path, IEnumerable<KeyValuePair<string, string>> query) =>
        method.ToUpperInvariant() + "\n" + path + "\n" + string.Join('&', query
            .Where(p => !string.Equals(p.Key, "auth_signature", StringComparison.OrdinalIgnoreCase))
            .Select(p => new KeyValuePair<string, string>(p.Key.ToLowerInvariant(), p.Value))
            .OrderBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key + "=" + p.Value));

    public static string RequestSignature(string secret, string method, string path, IEnumerable<KeyValuePair<string, string>> query) =>
        Hmac(secret, RequestStringToSign(method, path, query));

    public static string BodyMd5(ReadOnlySpan<byte> body) => Convert.ToHexStringLower(MD5.HashData(body));

    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(a), Encoding.UTF8.GetBytes(b));
}
