using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Askr.Php;

namespace Askr.Lifecycle;

/// <summary>
/// One recorded request (askr serve --record-errors, docs/lifecycle.md): the envelope PHP was
/// given (method, URI, protocol, headers, server variables, body) with the answer's status and
/// who recorded it. Written as one JSON object; read back by <c>askr replay</c>. The format:
/// <code>
/// { "askr_record": 1, "recorded_at": "2026-12-07T15:10:00.123Z", "status": 500,
///   "worker": { "slot": 0, "pid": 4242 },
///   "request": { "method": "POST", "uri": "/path?query", "protocol": "HTTP/1.1",
///                "headers": { "Host": "..." }, "server": { "REQUEST_METHOD": "POST", ... },
///                "body": "..." | "body_base64": "..." },
///   "redacted": [ "header Authorization", "server HTTP_AUTHORIZATION", "body password" ] }
/// </code>
/// The body is "body" when it is valid UTF-8, else "body_base64". Redacted values are the string
/// <see cref="RedactedValue"/>.
/// </summary>
internal sealed class RequestRecord : IEnvelopeSink
{
    public const int FormatVersion = 1;
    public const string RedactedValue = "[redacted]";

    public string Method { get; set; } = "";
    public string Uri { get; set; } = "";
    public string Protocol { get; set; } = "";
    /// <summary>Name =&gt; value, in arrival order; a later header of the same name replaces the earlier one, as in take_request()'s array.</summary>
    public List<KeyValuePair<string, string>> Headers { get; } = [];
    public List<KeyValuePair<string, string>> Server { get; } = [];
    public byte[] Body { get; set; } = [];
    public int Status { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
    public int WorkerSlot { get; set; } = -1;
    public int WorkerPid { get; set; }
    public List<string> Redacted { get; } = [];

    void IEnvelopeSink.SetMethod(string value) => Method = value;
    void IEnvelopeSink.SetUri(string value) => Uri = value;
    void IEnvelopeSink.SetProtocol(string value) => Protocol = value;
    void IEnvelopeSink.AddHeader(string name, string value) => Put(Headers, name, value);
    void IEnvelopeSink.AddServer(string name, string value) => Put(Server, name, value);
    void IEnvelopeSink.AddServerFromHeader(string header, string value) => Put(Server, ServerName(header), value);

    /// <summary>"HTTP_" + upper case, '-' as '_' (RFC 3875 4.1.18), as EnvelopeArena names it.</summary>
    public static string ServerName(string header) => "HTTP_" + header.ToUpperInvariant().Replace('-', '_');

    private static void Put(List<KeyValuePair<string, string>> list, string name, string value)
    {
        var i = list.FindIndex(p => p.Key == name);
        if (i >= 0) list[i] = new(name, value);
        else list.Add(new(name, value));
    }

    /// <summary>Writes this record's envelope to <paramref name="sink"/> (the PHP thread's arena, for askr replay).</summary>
    public void WriteTo(IEnvelopeSink sink)
    {
        sink.SetMethod(Method);
        sink.SetUri(Uri);
        sink.SetProtocol(Protocol);
        foreach (var (name, value) in Headers) sink.AddHeader(name, value);
        foreach (var (name, value) in Server) sink.AddServer(name, value);
    }

    /// <summary>
    /// Replaces sensitive values with <see cref="RedactedValue"/>: the headers named in
    /// <paramref name="names"/> (case-insensitive) and their HTTP_* server variables, and the
    /// body fields of those names in a form (application/x-www-form-urlencoded) or JSON body,
    /// at any depth. A multipart body is kept as it is (noted in <see cref="Redacted"/> when
    /// it holds one of the names).
    /// </summary>
    public void Redact(IReadOnlyCollection<string> names)
    {
        var set = new HashSet<string>(names, StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < Headers.Count; i++)
        {
            if (!set.Contains(Headers[i].Key)) continue;
            Headers[i] = new(Headers[i].Key, RedactedValue);
            Redacted.Add("header " + Headers[i].Key);
        }
        var serverNames = new HashSet<string>(set.Select(ServerName), StringComparer.Ordinal);
        for (var i = 0; i < Server.Count; i++)
        {
            if (!serverNames.Contains(Server[i].Key)) continue;
            Server[i] = new(Server[i].Key, RedactedValue);
            Redacted.Add("server " + Server[i].Key);
        }
        if (Body.Length == 0) return;
        var type = Headers.FirstOrDefault(h => h.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)).Value ?? "";
        var mediaType = type.Split(';')[0].Trim().ToLowerInvariant();
        if (mediaType == "application/x-www-form-urlencoded")
            RedactForm(set);
        else if (mediaType == "application/json" || mediaType.EndsWith("+json", StringComparison.Ordinal))
            RedactJson(set);
        else if (mediaType.StartsWith("multipart/", StringComparison.Ordinal))
        {
            var text = Encoding.UTF8.GetString(Body);
            if (set.Any(n => text.Contains($"name=\"{n}\"", StringComparison.OrdinalIgnoreCase)))
                Redacted.Add("body not redacted (multipart): it holds a field of the redaction list");
        }
    }

    private void RedactForm(HashSet<string> names)
    {
        var pairs = Encoding.UTF8.GetString(Body).Split('&');
        var changed = false;
        for (var i = 0; i < pairs.Length; i++)
        {
            var eq = pairs[i].IndexOf('=');
            var key = System.Net.WebUtility.UrlDecode(eq < 0 ? pairs[i] : pairs[i][..eq]);
            // PHP's names: "user[password]" is the field "password" of "user".
            var leaf = key.EndsWith(']') && key.LastIndexOf('[') is var b and >= 0 ? key[(b + 1)..^1] : key;
            if (!names.Contains(key) && !names.Contains(leaf)) continue;
            pairs[i] = (eq < 0 ? pairs[i] : pairs[i][..eq]) + "=" + System.Net.WebUtility.UrlEncode(RedactedValue);
            Redacted.Add("body " + key);
            changed = true;
        }
        if (changed) Body = Encoding.UTF8.GetBytes(string.Join('&', pairs));
    }

    private void RedactJson(HashSet<string> names)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(Body); }
        catch (JsonException) { return; }
        var changed = false;
        void Walk(JsonNode? node, string path)
        {
            if (node is JsonObject obj)
            {
                foreach (var key in obj.Select(p => p.Key).ToList())
                {
                    if (names.Contains(key))
                    {
                        obj[key] = RedactedValue;
                        Redacted.Add("body " + path + key);
                        changed = true;
                    }
                    else Walk(obj[key], path + key + ".");
                }
            }
            else if (node is JsonArray array)
            {
                for (var i = 0; i < array.Count; i++) Walk(array[i], path + i.ToString(CultureInfo.InvariantCulture) + ".");
            }
        }
        Walk(root, "");
        if (changed) Body = Encoding.UTF8.GetBytes(root!.ToJsonString());
    }

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteNumber("askr_record", FormatVersion);
            w.WriteString("recorded_at", RecordedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteNumber("status", Status);
            w.WriteStartObject("worker");
            w.WriteNumber("slot", WorkerSlot);
            w.WriteNumber("pid", WorkerPid);
            w.WriteEndObject();
            w.WriteStartObject("request");
            w.WriteString("method", Method);
            w.WriteString("uri", Uri);
            w.WriteString("protocol", Protocol);
            w.WriteStartObject("headers");
            foreach (var (name, value) in Headers) w.WriteString(name, value);
            w.WriteEndObject();
            w.WriteStartObject("server");
            foreach (var (name, value) in Server) w.WriteString(name, value);
            w.WriteEndObject();
            if (IsUtf8(Body)) w.WriteString("body", Encoding.UTF8.GetString(Body));
            else w.WriteBase64String("body_base64", Body);
            w.WriteEndObject();
            w.WriteStartArray("redacted");
            foreach (var r in Redacted) w.WriteStringValue(r);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static bool IsUtf8(byte[] bytes)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(bytes);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }

    /// <summary>Reads a record file; <paramref name="error"/> says what is wrong with a malformed one (and the record is null).</summary>
    public static RequestRecord? Read(string path, out string? error)
    {
        error = null;
        byte[] bytes;
        try { bytes = File.ReadAllBytes(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            error = $"cannot read it: {e.Message}";
            return null;
        }
        JsonDocument document;
        try { document = JsonDocument.Parse(bytes); }
        catch (JsonException e)
        {
            error = $"not valid JSON (line {(e.LineNumber ?? 0) + 1}, byte {(e.BytePositionInLine ?? 0) + 1}): {e.Message}";
            return null;
        }
        using (document)
        {
            try { return FromJson(document.RootElement); }
            catch (FormatException e)
            {
                error = e.Message;
                return null;
            }
        }
    }

    private static RequestRecord FromJson(JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new FormatException($"the file holds a JSON {Kind(root)}, not an object (a record of askr serve --record-errors)");
        if (!root.TryGetProperty("askr_record", out var version)) throw new FormatException("\"askr_record\" is missing: not a record of askr serve --record-errors");
        if (version.ValueKind != JsonValueKind.Number || version.GetInt32() != FormatVersion)
            throw new FormatException($"\"askr_record\" is {version.GetRawText()}; this askr reads format {FormatVersion}");
        var record = new RequestRecord
        {
            Status = root.TryGetProperty("status", out var s) && s.ValueKind == JsonValueKind.Number ? s.GetInt32() : 0,
        };
        if (root.TryGetProperty("recorded_at", out var at) && at.ValueKind == JsonValueKind.String && DateTimeOffset.TryParse(at.GetString(), CultureInfo.InvariantCulture, out var when))
            record.RecordedAt = when;
        var request = Required(root, "request", JsonValueKind.Object, "");
        record.Method = Required(request, "method", JsonValueKind.String, "request.").GetString()!;
        if (record.Method.Length == 0) throw new FormatException("\"request.method\" is empty");
        record.Uri = Required(request, "uri", JsonValueKind.String, "request.").GetString()!;
        if (!record.Uri.StartsWith('/') && record.Uri != "*") throw new FormatException($"\"request.uri\" must be a request target starting with '/', got \"{record.Uri}\"");
        record.Protocol = request.TryGetProperty("protocol", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString()! : "HTTP/1.1";
        foreach (var (field, list) in new[] { ("headers", record.Headers), ("server", record.Server) })
        {
            foreach (var property in Required(request, field, JsonValueKind.Object, "request.").EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String)
                    throw new FormatException($"\"request.{field}.{property.Name}\" must be a string, got a JSON {Kind(property.Value)}");
                list.Add(new(property.Name, property.Value.GetString()!));
            }
        }
        if (request.TryGetProperty("body", out var body))
        {
            if (body.ValueKind != JsonValueKind.String) throw new FormatException($"\"request.body\" must be a string, got a JSON {Kind(body)}");
            record.Body = Encoding.UTF8.GetBytes(body.GetString()!);
        }
        else if (request.TryGetProperty("body_base64", out var b64))
        {
            if (b64.ValueKind != JsonValueKind.String || !b64.TryGetBytesFromBase64(out var decoded))
                throw new FormatException("\"request.body_base64\" must be a base64 string");
            record.Body = decoded;
        }
        if (root.TryGetProperty("redacted", out var redacted) && redacted.ValueKind == JsonValueKind.Array)
            record.Redacted.AddRange(redacted.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!));
        return record;
    }

    private static JsonElement Required(JsonElement parent, string name, JsonValueKind kind, string prefix)
    {
        if (!parent.TryGetProperty(name, out var value)) throw new FormatException($"\"{prefix}{name}\" is missing");
        if (value.ValueKind != kind) throw new FormatException($"\"{prefix}{name}\" must be a JSON {kind.ToString().ToLowerInvariant()}, got a JSON {Kind(value)}");
        return value;
    }

    private static string Kind(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        var k => k.ToString().ToLowerInvariant(),
    };
}
