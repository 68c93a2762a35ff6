namespace Askr.Php;

/// <summary>
/// Where the HTTP layer writes a request envelope (the shape of take_request(), see the natives
/// stub): the PHP thread's <see cref="EnvelopeArena"/>, or a record of a failed request
/// (Askr.Lifecycle.RequestRecord), so both hold exactly the same fields.
/// </summary>
internal interface IEnvelopeSink
{
    void SetMethod(string value);
    void SetUri(string value);
    void SetProtocol(string value);
    void AddHeader(string name, string value);
    void AddServer(string name, string value);
    /// <summary>A CGI meta-variable named from a header: "HTTP_" + upper case, '-' as '_' (RFC 3875 4.1.18).</summary>
    void AddServerFromHeader(string header, string value);
}
