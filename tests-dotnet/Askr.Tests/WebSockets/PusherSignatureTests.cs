using System.Text;
using Askr.WebSockets.Pusher;

namespace Askr.Tests.WebSockets;

/// <summary>The signatures against the test vectors of Pusher's documentation.</summary>
public sealed class PusherSignatureTests
{
    // https://pusher.com/docs/channels/library_auth_reference/auth-signatures/ and .../rest-api/#worked-authentication-example
    private static readonly PusherApp s_docs = new("3", "278d425bdf160c739803", "7ad3773142a6692b25b8");

    [Fact]
    public void Private_channel_auth_matches_the_documented_signature()
    {
        Assert.Equal("278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4",
            PusherSignature.ChannelAuth(s_docs, "1234.1234", "private-foobar"));
        Assert.True(PusherSignature.VerifyChannelAuth(s_docs, "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4", "1234.1234", "private-foobar"));
        Assert.False(PusherSignature.VerifyChannelAuth(s_docs, "278d425bdf160c739803:58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4", "1234.1235", "private-foobar"));
    }

    [Fact]
    public void Presence_channel_auth_signs_the_channel_data()
    {
        const string data = "{\"user_id\":10,\"user_info\":{\"name\":\"Mr. Channels\"}}";
        Assert.Equal("278d425bdf160c739803:31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80",
            PusherSignature.ChannelAuth(s_docs, "1234.1234", "presence-foobar", data));
    }

    private static readonly byte[] s_body = Encoding.UTF8.GetBytes("{\"name\":\"foo\",\"channels\":[\"project-3\"],\"data\":\"{\\\"some\\\":\\\"data\\\"}\"}");

    private static List<KeyValuePair<string, string>> Query(string signature, string md5 = "ec365a775a4cd0599faeb73354201b6f", string timestamp = "1353088179") =>
    [
        new("auth_key", "278d425bdf160c739803"), new("auth_timestamp", timestamp), new("auth_version", "1.0"),
        new("body_md5", md5), new("auth_signature", signature),
    ];

    private const string DocsSignature = "da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c";

    [Fact]
    public void Http_api_request_matches_the_documented_worked_example()
    {
        Assert.Equal("ec365a775a4cd0599faeb73354201b6f", PusherSignature.BodyMd5(s_body));
        Assert.Equal(DocsSignature, PusherSignature.RequestSignature(s_docs.Secret, "POST", "/apps/3/events", Query("")));
        Assert.Null(PusherHttpApi.Authenticate(s_docs, "POST", "/apps/3/events", Query(DocsSignature), s_body, nowSeconds: 1353088179 + 599));
    }

    [Fact]
    public void Http_api_refuses_a_stale_timestamp_a_wrong_body_and_a_wrong_signature_with_the_reason()
    {
        Assert.StartsWith("Timestamp expired", PusherHttpApi.Authenticate(s_docs, "POST", "/apps/3/events", Query(DocsSignature), s_body, 1353088179 + 601));
        Assert.StartsWith("Timestamp expired", PusherHttpApi.Authenticate(s_docs, "POST", "/apps/3/events", Query(DocsSignature), s_body, 1353088179 - 601));
        Assert.StartsWith("Invalid body_md5", PusherHttpApi.Authenticate(s_docs, "POST", "/apps/3/events", Query(DocsSignature), Encoding.UTF8.GetBytes("{}"), 1353088179));
        Assert.StartsWith("Invalid signature", PusherHttpApi.Authenticate(s_docs, "POST", "/apps/3/events", Query(DocsSignature[..^1] + "0"), s_body, 1353088179));
        Assert.StartsWith("Invalid signature", PusherHttpApi.Authenticate(s_docs, "POST", "/apps/4/events", Query(DocsSignature), s_body, 1353088179));
        Assert.Equal("Invalid auth_key", PusherHttpApi.Authenticate(s_docs with { Key = "other" }, "POST", "/apps/3/events", Query(DocsSignature), s_body, 1353088179));
    }

    [Theory]
    [InlineData("1:key:secret", "1", "key", "secret")]
    [InlineData("app:k:se:cret", "app", "k", "se:cret")]
    public void App_argument_is_id_key_secret(string text, string id, string key, string secret) =>
        Assert.Equal(new PusherApp(id, key, secret), PusherApp.Parse(text));

    [Theory]
    [InlineData("1:key")]
    [InlineData("1::secret")]
    [InlineData("")]
    public void App_argument_without_three_parts_is_refused(string text) =>
        Assert.Throws<FormatException>(() => PusherApp.Parse(text));
}
