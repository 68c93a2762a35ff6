using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Askr.Logging;
using Askr.WebSockets.Pusher;

namespace Askr.WebSockets;

/// <summary>
/// The supervisor's Pusher webhooks (https://pusher.com/docs/channels/server_api/webhooks/): per app
/// with a <c>--pusher-webhook</c> URL, the node's <c>channel_occupied</c>, <c>channel_vacated</c>,
/// <c>member_added</c>, <c>member_removed</c> and <c>client_event</c> events are POSTed as Pusher does:
/// body <c>{"time_ms": Unix ms, "events": [...]}</c>, headers <c>X-Pusher-Key</c> (the app key) and
/// <c>X-Pusher-Signature</c> (lowercase hex HMAC-SHA256 of the body with the app secret).
/// </summary>
/// <remarks>
/// Never blocks delivery: events are queued (at most <see cref="MaxQueued"/> per app; past it new
/// ones are dropped, counted and logged) and one sender loop per app sends batches of up to
/// <see cref="MaxBatch"/> events, gathered for <see cref="BatchWindow"/>. A batch that fails
/// (a non-2xx answer, a time-out of <see cref="RequestTimeout"/>, a refused connection) is sent again
/// after 1, 2, 4, 8 and 16 s, then dropped and logged; batches of one app stay in order.
/// </remarks>
internal sealed class PusherWebhooks : IDisposable
{
    public const int MaxQueued = 10_000;
    public const int MaxBatch = 100;
    public static readonly TimeSpan BatchWindow = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan[] RetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(8), TimeSpan.FromSeconds(16)];

    private readonly Dictionary<string, Target> _targets = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = RequestTimeout };
    private readonly CancellationTokenSource _stop = new();
    private readonly LogWriter? _log;

    private sealed record Target(PusherApp App, Uri Url, Channel<string> Queue)
    {
        public long Dropped;
    }

    /// <param name="apps">The node's apps.</param>
    /// <param name="urls">Webhook URL per app id.</param>
    public PusherWebhooks(IEnumerable<PusherApp> apps, IReadOnlyDictionary<string, Uri> urls, LogWriter? log)
    {
        _log = log;
        foreach (var app in apps)
            if (urls.TryGetValue(app.Id, out var url))
            {
                var target = new Target(app, url, Channel.CreateBounded<string>(new BoundedChannelOptions(MaxQueued) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite }));
                _targets[app.Id] = target;
                _ = Task.Run(() => SendLoopAsync(target));
            }
    }

    /// <summary>
    /// Parses <c>--pusher-webhook</c> values: <c>URL</c> (every app) or <c>ID=URL</c> (that app; a later value wins),
    /// URL absolute http or https. Throws <see cref="FormatException"/> with the reason.
    /// </summary>
    public static Dictionary<string, Uri> ParseOption(IEnumerable<string> values, IReadOnlyList<PusherApp> apps)
    {
        var urls = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var text in values)
        {
            var isUrl = text.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || text.StartsWith("https://", StringComparison.OrdinalIgnoreCase);
            var (id, url) = isUrl ? (null, text) : text.IndexOf('=') is var i and > 0 ? (text[..i], text[(i + 1)..]) : (null, text);
            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
                throw new FormatException($"--pusher-webhook '{text}': expected URL or ID=URL, with an absolute http:// or https:// URL");
            if (apps.Count == 0) throw new FormatException("--pusher-webhook needs a --pusher-app");
            if (id is null) foreach (var app in apps) urls[app.Id] = uri;
            else if (apps.Any(a => a.Id == id)) urls[id] = uri;
            else throw new FormatException($"--pusher-webhook '{text}': no --pusher-app has the id {id}");
        }
        return urls;
    }

    /// <summary>Null when no app has a webhook.</summary>
    public static PusherWebhooks? Create(IEnumerable<PusherApp> apps, IReadOnlyDictionary<string, Uri> urls, LogWriter? log) =>
        urls.Count == 0 ? null : new PusherWebhooks(apps, urls, log);

    public void ChannelOccupied(string app, string channel) => Queue(app, w => { w.WriteString("name", "channel_occupied"); w.WriteString("channel", channel); });
    public void ChannelVacated(string app, string channel) => Queue(app, w => { w.WriteString("name", "channel_vacated"); w.WriteString("channel", channel); });
    public void MemberAdded(string app, string channel, string userId) => Queue(app, w => { w.WriteString("name", "member_added"); w.WriteString("channel", channel); w.WriteString("user_id", userId); });
    public void MemberRemoved(string app, string channel, string userId) => Queue(app, w => { w.WriteString("name", "member_removed"); w.WriteString("channel", channel); w.WriteString("user_id", userId); });

    /// <summary>A client event; <paramref name="dataJson"/> is the data the client sent (JSON), passed on as a string as Pusher does.</summary>
    public void ClientEvent(string app, string channel, string eventName, string dataJson, string? socketId, string? userId) => Queue(app, w =>
    {
        w.WriteString("name", "client_event");
        w.WriteString("channel", channel);
        w.WriteString("event", eventName);
        string data;
        try
        {
            using var d = JsonDocument.Parse(dataJson);
            data = d.RootElement.ValueKind == JsonValueKind.String ? d.RootElement.GetString()! : d.RootElement.GetRawText();
        }
        catch (JsonException) { data = dataJson; }
        w.WriteString("data", data);
        if (socketId is not null) w.WriteString("socket_id", socketId);
        if (userId is not null) w.WriteString("user_id", userId);
    });

    private void Queue(string app, Action<Utf8JsonWriter> members)
    {
        if (!_targets.TryGetValue(app, out var target)) return;
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            members(w);
            w.WriteEndObject();
        }
        if (!target.Queue.Writer.TryWrite(Encoding.UTF8.GetString(stream.ToArray())))
        {
            var dropped = Interlocked.Increment(ref target.Dropped);
            if (dropped == 1 || dropped % 1000 == 0)
                _log?.Warning($"pusher webhook for app {app}: queue full ({MaxQueued} events), {dropped} event(s) dropped so far");
        }
    }

    private async Task SendLoopAsync(Target target)
    {
        var reader = target.Queue.Reader;
        var batch = new List<string>();
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token))
            {
                // Gather what arrives within the window, up to a batch.
                using (var window = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token))
                {
                    window.CancelAfter(BatchWindow);
                    try
                    {
                        while (batch.Count < MaxBatch)
                        {
                            if (reader.TryRead(out var e)) batch.Add(e);
                            else if (!await reader.WaitToReadAsync(window.Token)) break;
                        }
                    }
                    catch (OperationCanceledException) when (!_stop.IsCancellationRequested) { }
                }
                await SendBatchAsync(target, batch);
                batch.Clear();
            }
        }
        catch (OperationCanceledException) { }
    }

    private async Task SendBatchAsync(Target target, List<string> events)
    {
        var body = Encoding.UTF8.GetBytes($"{{\"time_ms\":{DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()},\"events\":[{string.Join(',', events)}]}}");
        var signature = PusherSignature.Hmac(target.App.Secret, body);
        for (var attempt = 0; ; attempt++)
        {
            string failure;
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, target.Url) { Content = new ByteArrayContent(body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                request.Headers.Add("X-Pusher-Key", target.App.Key);
                request.Headers.Add("X-Pusher-Signature", signature);
                using var response = await _http.SendAsync(request, _stop.Token);
                if (response.IsSuccessStatusCode) return;
                failure = $"HTTP {(int)response.StatusCode}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !_stop.IsCancellationRequested)
            {
                failure = e.Message;
            }
            if (attempt >= RetryDelays.Length)
            {
                _log?.Error($"pusher webhook for app {target.App.Id} to {target.Url}: {events.Count} event(s) dropped after {attempt + 1} attempts ({failure})");
                return;
            }
            _log?.Warning($"pusher webhook for app {target.App.Id} to {target.Url}: {failure}; sending again in {RetryDelays[attempt].TotalSeconds:0} s");
            await Task.Delay(RetryDelays[attempt], _stop.Token);
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _http.Dispose();
    }
}
