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

    [Fact]
    public void User_auth_signs_socket_id_user_and_user_data_as_the_pusher_library_does()
    {
        // The docs' credentials and socket id, user_data {"id":"12345"}; the value is what the
        // `pusher` library's authenticateUser (and openssl) give for it.
        const string expected = "278d425bdf160c739803:4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba";
        Assert.Equal(expected, PusherSignature.UserAuth(s_docs, "1234.1234", "{\"id\":\"12345\"}"));
        Assert.True(PusherSignature.VerifyUserAuth(s_docs, expected, "1234.1234", "{\"id\":\"12345\"}"));
        Assert.False(PusherSignature.VerifyUserAuth(s_docs, expected, "1234.1234", "{\"id\":\"12346\"}"));
        Assert.False(PusherSignature.VerifyUserAuth(s_docs, null, "1234.1234", "{\"id\":\"12345\"}"));
    }

    [Fact]
    public void Webhook_option_is_a_url_for_every_app_or_id_equals_url_for_one()
    {
        PusherApp[] apps = [new("1", "k1", "s1"), new("2", "k2", "s2")];
        var all = Askr.WebSockets.PusherWebhooks.ParseOption(["http://127.0.0.1:9/hook?a=b"], apps);
        Assert.Equal(["1", "2"], all.Keys.Order());
        Assert.Equal("http://127.0.0.1:9/hook?a=b", all["2"].ToString());
        var one = Askr.WebSockets.PusherWebhooks.ParseOption(["http://a.test/all", "2=https://b.test/two"], apps);
        Assert.Equal("http://a.test/all", one["1"].ToString());
        Assert.Equal("https://b.test/two", one["2"].ToString());
    }

    [Theory]
    [InlineData("3=http://a.test/", "no --pusher-app has the id 3")]
    [InlineData("1=ftp://a.test/", "expected URL or ID=URL")]
    [InlineData("not a url", "expected URL or ID=URL")]
    public void Webhook_option_for_an_unknown_app_or_not_http_is_refused(string text, string reason) =>
        Assert.Contains(reason, Assert.Throws<FormatException>(() => Askr.WebSockets.PusherWebhooks.ParseOption([text], [new PusherApp("1", "k", "s")])).Message);
}
