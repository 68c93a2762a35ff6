using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using Askr.Logging;
using Askr.Php;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Askr.ResponseCache;

/// <summary>What the cache decided for one request before PHP: served already, or how PHP's answer is to be treated.</summary>
internal sealed class CacheTicket
{
    /// <summary>The response was written from the cache; PHP is not involved.</summary>
    public bool Served { get; init; }
    public int Status { get; init; }
    /// <summary>The request may not be answered from the cache nor stored (cookie, Authorization).</summary>
    public bool Bypass { get; init; }
    /// <summary>The key PHP's answer is stored under (the primary key, or the Vary key when a Vary marker was found).</summary>
    public string? Key { get; init; }
    public string? PrimaryKey { get; init; }
    /// <summary>This request holds the key's in-flight marker: it must store, mark hit-for-miss or abandon.</summary>
    public bool Leader { get; set; }
    /// <summary>The invalidation sequence and flush generation when the request began: a purge after them makes the answer unstorable.</summary>
    public long Sequence { get; init; }
    public long FlushGeneration { get; init; }
    public string Target { get; init; } = "";
    /// <summary>A HEAD miss: PHP's answer has no body, so it must not become the GET entry.</summary>
    public bool NoStore { get; init; }
    /// <summary>An expired entry still within its stale-if-error window: served instead of a 5xx (RFC 5861 §4).</summary>
    public CacheEntry? Stale { get; set; }
}

/// <summary>
/// The response cache in an HTTP worker, between Kestrel and the PHP queue (docs/response-cache.md):
/// <see cref="BeforeAsync"/> answers a hit from the node's shared memory (or makes the request
/// wait for the key's leader), <see cref="After"/> strips <c>Askr-Cache</c> from PHP's answer
/// and stores it when the rails allow.
/// </summary>
internal sealed class ResponseCacheHandler
{
    /// <summary>Seconds a key stays hit-for-miss after an answer that could not be stored.</summary>
    public const int HitForMissSeconds = 10;
    public const string HeaderName = "Askr-Cache";
    public const string StatusHeader = "X-Askr-Cache";

    /// <summary>RFC 9111 §4.2.2: the statuses heuristically cacheable by default.</summary>
    private static readonly HashSet<int> s_cacheable = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

    private readonly CacheStore _store;
    private readonly LogWriter _log;
    private readonly IReadOnlyList<string> _ignoredCookies;
    private readonly int _timeoutMs;
    private readonly ConcurrentDictionary<string, byte> _loggedRoutes = new(StringComparer.Ordinal);
    /// <summary>Wakes the waiters of a leader (futex on the settle word); null when ASKR_RESPONSE_CACHE_WAIT=poll.</summary>
    private readonly SettleWatcher? _watcher;

    public ResponseCacheHandler(CacheStore store, IReadOnlyList<string> ignoredCookies, int requestTimeoutSeconds, LogWriter log)
    {
        _store = store;
        _ignoredCookies = ignoredCookies;
        _timeoutMs = (requestTimeoutSeconds > 0 ? requestTimeoutSeconds : 300) * 1000;
        _log = log;
        // ASKR_RESPONSE_CACHE_WAIT=poll keeps the old wait (polling, 2 ms doubling to 25 ms) for comparison (bench/response-cache/stampede.sh).
        _watcher = Environment.GetEnvironmentVariable("ASKR_RESPONSE_CACHE_WAIT") == "poll" ? null : new SettleWatcher(store);
    }

    public CacheStore Store => _store;

    /// <summary>
    /// Runs a background refresh (stale-while-revalidate) through PHP: the synthetic request's
    /// answer, or null when PHP's queue is full. Set by the worker host.
    /// </summary>
    public Func<HttpContext, Task<ResponseHead?>>? Refresh { get; init; }

    private static long NowMs => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    /// <summary>Removes every Askr-Cache header; returns their values joined, or null.</summary>
    public static string? TakeDirective(List<KeyValuePair<string, string>> headers)
    {
        string? value = null;
        for (var i = headers.Count - 1; i >= 0; i--)
        {
            if (!headers[i].Key.Equals(HeaderName, StringComparison.OrdinalIgnoreCase)) continue;
            value = value is null ? headers[i].Value : headers[i].Value + ", " + value;
            headers.RemoveAt(i);
        }
        return value;
    }

    /// <summary>A request that may see what another client stored: no Authorization, and no Cookie but the ignored ones.</summary>
    private bool Anonymous(HttpRequest request)
    {
        if (request.Headers.ContainsKey(HeaderNames.Authorization)) return false;
        if (!request.Headers.TryGetValue(HeaderNames.Cookie, out var cookies)) return true;
        foreach (var line in cookies)
        {
            foreach (var pair in (line ?? "").Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=');
                var name = eq < 0 ? pair : pair[..eq].Trim();
                if (!IgnoredCookie(name)) return false;
            }
        }
        return true;
    }

    private bool IgnoredCookie(string name)
    {
        foreach (var pattern in _ignoredCookies)
        {
            if (pattern.EndsWith('*') ? name.StartsWith(pattern[..^1], StringComparison.Ordinal) : name == pattern) return true;
        }
        return false;
    }

    public static string RawTarget(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return string.IsNullOrEmpty(raw) ? context.Request.Path + context.Request.QueryString : raw;
    }

    private static string PrimaryKey(HttpContext context, string target) => context.Request.Host.Value?.ToLowerInvariant() + "\n" + target;

    private static string VaryKey(string primary, IReadOnlyList<string> names, HttpRequest request)
    {
        var key = new System.Text.StringBuilder(primary);
        foreach (var name in names)
        {
            key.Append('\n').Append(name.ToLowerInvariant()).Append('=');
            if (request.Headers.TryGetValue(name, out var v)) key.Append(string.Join(",", v.ToArray()));
        }
        return key.ToString();
    }

    /// <summary>Largest blob a HIT writes synchronously into Kestrel's pipe (flushed when the request ends); larger ones await the write.</summary>
    private const int SyncServeBytes = 64 * 1024;

    /// <summary>Longest primary key (bytes) the HIT fast path builds on the stack; longer keys take the general path.</summary>
    private const int FastKeyBytes = 1024;

    /// <summary>Completed tasks of served tickets, one per status (a served ticket is never changed).</summary>
    private static readonly Task<CacheTicket?>[] s_served = new Task<CacheTicket?>[600];

    private static Task<CacheTicket?> Served(int status) => status is >= 0 and < 600
        ? s_served[status] ??= Task.FromResult<CacheTicket?>(new CacheTicket { Served = true, Status = status })
        : Task.FromResult<CacheTicket?>(new CacheTicket { Served = true, Status = status });

    /// <summary>The Age header values 0..3599 s, made once.</summary>
    private static readonly string?[] s_ages = new string?[3600];

    private static string AgeSeconds(long storedAtMs, long nowMs)
    {
        var age = Math.Max(0, (nowMs - storedAtMs) / 1000);
        return age < s_ages.Length ? s_ages[age] ??= age.ToString(CultureInfo.InvariantCulture) : age.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Before PHP: null when the cache has no say (not GET/HEAD); a served ticket when the
    /// response was written from the cache; otherwise how to treat PHP's answer.
    /// A fresh HIT is answered synchronously (<see cref="TryServeFresh"/>); everything else takes the general path.
    /// </summary>
    public Task<CacheTicket?> BeforeAsync(HttpContext context)
    {
        var status = TryServeFresh(context);
        return status > 0 ? Served(status) : BeforeSlowAsync(context);
    }

    /// <summary>
    /// The HIT path: a GET/HEAD, anonymous, without conditional headers, whose primary key
    /// (ASCII host) holds a fresh response with current tags and a body up to
    /// <see cref="SyncServeBytes"/>, is written at once: the key on the stack, the header strings
    /// from <see cref="HeaderStrings"/>, the body from the pooled copy of the entry. Returns the
    /// status, or 0 when the general path must decide (it looks again: the cost of a miss is PHP's).
    /// </summary>
    private int TryServeFresh(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)) return 0;
        var headers = request.Headers;
        if (headers.IfNoneMatch.Count > 0 || headers.IfModifiedSince.Count > 0 || !Anonymous(request)) return 0;
        Span<byte> key = stackalloc byte[FastKeyBytes];
        var length = PrimaryKeyBytes(request.Host.Value, RawTarget(context), key);
        if (length < 0) return 0;
        var entry = _store.Get(key[..length]);
        if (entry is null) return 0;
        try
        {
            if (entry.Kind != CacheEntryKind.Response || entry.BlobLength > SyncServeBytes) return 0;
            var now = NowMs;
            if (now >= entry.FreshUntilMs) return 0;
            var payload = entry.Blob.AsSpan(entry.PayloadOffset, entry.BlobLength - entry.PayloadOffset);
            if (!CachedResponse.TagsCurrent(_store, payload)) return 0;
            var status = WriteHead(context, payload, "HIT", AgeSeconds(entry.StoredAtMs, now), out var bodyOffset, out var bodyLength);
            if (bodyLength > 0) context.Response.BodyWriter.Write(payload.Slice(bodyOffset, bodyLength));
            _store.Add(CacheStore.Counter.Hits);
            return status;
        }
        finally
        {
            entry.Return();
        }
    }

    /// <summary>
    /// The UTF-8 bytes of <see cref="PrimaryKey"/> (host lower-cased, newline, target) into
    /// <paramref name="key"/>: their length, or -1 for a host that is not ASCII or a key that does
    /// not fit (the general path builds those as strings).
    /// </summary>
    private static int PrimaryKeyBytes(string? host, string target, Span<byte> key)
    {
        host ??= "";
        if (host.Length + 1 > key.Length) return -1;
        for (var i = 0; i < host.Length; i++)
        {
            var c = host[i];
            if (c >= 0x80) return -1;
            key[i] = (byte)(c is >= 'A' and <= 'Z' ? c + 32 : c);
        }
        key[host.Length] = (byte)'\n';
        return System.Text.Encoding.UTF8.TryGetBytes(target, key[(host.Length + 1)..], out var n) ? host.Length + 1 + n : -1;
    }

    /// <summary>Status and headers of a stored response (no conditional request) into the response; where the body to write is (length 0: none).</summary>
    private static int WriteHead(HttpContext context, ReadOnlySpan<byte> payload, string how, string age, out int bodyOffset, out int bodyLength)
    {
        var response = context.Response;
        var reader = new StoredHeaderReader(payload);
        var status = reader.Status;
        response.StatusCode = status;
        var target = response.Headers;
        while (reader.TryNext(out var name, out var value)) target.Append(HeaderStrings.Get(name), HeaderStrings.Get(value));
        target.Age = age;
        target[StatusHeader] = how;
        reader.ReadBody(out bodyOffset, out bodyLength);
        if (status < 200 || status == 204 || status == 304) { bodyLength = 0; return status; }
        response.ContentLength = bodyLength;
        if (HttpMethods.IsHead(context.Request.Method)) bodyLength = 0;
        return status;
    }

    private async Task<CacheTicket?> BeforeSlowAsync(HttpContext context)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method)) return null;
        if (!Anonymous(request))
        {
            _store.Add(CacheStore.Counter.Bypasses);
            return new CacheTicket { Bypass = true };
        }
        var target = RawTarget(context);
        var primary = PrimaryKey(context, target);
        var sequence = _store.Sequence;
        var flush = _store.FlushGeneration;
        var started = NowMs;
        var waited = false;
        var delay = 2;
        while (true)
        {
            var key = primary;
            // Read before the look-up: a leader that settles after it wakes the wait below (no lost wake-up).
            var settled = _store.Settled;
            var entry = _store.Get(primary);
            try
            {
                if (entry is { Kind: CacheEntryKind.Vary })
                {
                    var names = CachedResponse.DecodeVary(entry.Blob.AsSpan(entry.PayloadOffset, entry.BlobLength - entry.PayloadOffset));
                    entry.Return();
                    key = VaryKey(primary, names, request);
                    entry = _store.Get(key);
                }
                var now = NowMs;
                var replace = false;
                switch (entry?.Kind)
                {
                    case CacheEntryKind.Response:
                    {
                        var payload = entry.Blob.AsSpan(entry.PayloadOffset, entry.BlobLength - entry.PayloadOffset);
                        var current = CachedResponse.TagsCurrent(_store, payload);
                        if (current && now < entry.FreshUntilMs)
                        {
                            var status = await ServeAsync(context, entry, waited ? "COALESCED" : "HIT", now);
                            _store.Add(waited ? CacheStore.Counter.Coalesced : CacheStore.Counter.Hits);
                            return new CacheTicket { Served = true, Status = status };
                        }
                        if (current && now < entry.SwrUntilMs)
                        {
                            // RFC 5861 §3: serve it at once; one request of the node refreshes it in the background.
                            StartRefresh(context, key, primary, target, sequence, flush, now);
                            var status = await ServeAsync(context, entry, "STALE", now);
                            _store.Add(CacheStore.Counter.Stale);
                            return new CacheTicket { Served = true, Status = status };
                        }
                        if (current && now < entry.SieUntilMs && _store.TryLead(key, now, now + _timeoutMs + 5000, replace: true))
                        {
                            _store.Add(CacheStore.Counter.Misses);
                            var ticket = new CacheTicket { Key = key, PrimaryKey = primary, Leader = true, Sequence = sequence, FlushGeneration = flush, Target = target, Stale = entry };
                            entry = null;
                            return ticket;
                        }
                        replace = true;
                        break;
                    }
                    case CacheEntryKind.HitForMiss when now < entry.FreshUntilMs:
                        _store.Add(CacheStore.Counter.Misses);
                        return new CacheTicket { Key = key, PrimaryKey = primary, Sequence = sequence, FlushGeneration = flush, Target = target };
                    case CacheEntryKind.InFlight when now < entry.LeaderDeadlineMs && now - started < _timeoutMs && CacheStore.ProcessAlive(entry.LeaderPid):
                        // Another request (in this worker or another) is making this answer: wait for it.
                        waited = true;
                        entry.Return();
                        entry = null;
                        if (_watcher is not null)
                        {
                            await _watcher.WaitAsync(settled, context.RequestAborted);
                            continue;
                        }
                        await Task.Delay(delay, context.RequestAborted);
                        delay = Math.Min(delay * 2, 25);
                        continue;
                    case null:
                        break;
                    default:
                        replace = true;
                        break;
                }
                if (now - started >= _timeoutMs)
                {
                    _store.Add(CacheStore.Counter.Misses);
                    return new CacheTicket { Key = key, PrimaryKey = primary, Sequence = sequence, FlushGeneration = flush, Target = target };
                }
                if (HttpMethods.IsHead(request.Method))
                {
                    _store.Add(CacheStore.Counter.Misses);
                    return new CacheTicket { Key = key, PrimaryKey = primary, NoStore = true, Target = target };
                }
                if (_store.TryLead(key, now, now + _timeoutMs + 5000, replace))
                {
                    _store.Add(CacheStore.Counter.Misses);
                    return new CacheTicket { Key = key, PrimaryKey = primary, Leader = true, Sequence = sequence, FlushGeneration = flush, Target = target };
                }
                // Someone else became the leader between our look and our try: look again.
            }
            finally
            {
                entry?.Return();
            }
        }
    }

    private async Task<int> ServeAsync(HttpContext context, CacheEntry entry, string how, long now)
    {
        var payload = entry.Blob.AsMemory(entry.PayloadOffset, entry.BlobLength - entry.PayloadOffset);
        var response = context.Response;
        var request = context.Request;
        var age = AgeSeconds(entry.StoredAtMs, now);
        if (request.Headers.IfNoneMatch.Count == 0 && request.Headers.IfModifiedSince.Count == 0)
        {
            var written = WriteHead(context, payload.Span, how, age, out var offset, out var length);
            if (length > 0) await response.BodyWriter.WriteAsync(payload.Slice(offset, length), context.RequestAborted);
            return written;
        }
        var (status, headers, bodyOffset, bodyLength) = CachedResponse.Decode(payload.Span);
        if (NotModified(request, headers))
        {
            response.StatusCode = 304;
            foreach (var (name, value) in headers)
            {
                // RFC 9110 §15.4.5: the headers a 200 would have carried that describe the representation's validators and caching.
                if (name.Equals("ETag", StringComparison.OrdinalIgnoreCase) || name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Vary", StringComparison.OrdinalIgnoreCase) || name.Equals("Expires", StringComparison.OrdinalIgnoreCase)
                    || name.Equals("Last-Modified", StringComparison.OrdinalIgnoreCase) || name.Equals("Content-Location", StringComparison.OrdinalIgnoreCase))
                    response.Headers.Append(name, value);
            }
            response.Headers.Age = age;
            response.Headers[StatusHeader] = how;
            return 304;
        }
        response.StatusCode = status;
        foreach (var (name, value) in headers) response.Headers.Append(name, value);
        response.Headers.Age = age;
        response.Headers[StatusHeader] = how;
        if (status < 200 || status == 204 || status == 304) return status;
        response.ContentLength = bodyLength;
        if (bodyLength > 0 && !HttpMethods.IsHead(request.Method))
            await response.BodyWriter.WriteAsync(payload.Slice(bodyOffset, bodyLength), context.RequestAborted);
        return status;
    }

    /// <summary>RFC 9110 §13.1.1/§13.1.3: If-None-Match (weak comparison) wins over If-Modified-Since.</summary>
    private static bool NotModified(HttpRequest request, List<KeyValuePair<string, string>> headers)
    {
        string? etag = null, lastModified = null;
        foreach (var (name, value) in headers)
        {
            if (name.Equals("ETag", StringComparison.OrdinalIgnoreCase)) etag = value;
            else if (name.Equals("Last-Modified", StringComparison.OrdinalIgnoreCase)) lastModified = value;
        }
        var inm = request.Headers.IfNoneMatch;
        if (inm.Count > 0)
        {
            if (etag is null) return false;
            var mine = Opaque(etag);
            foreach (var line in inm)
            {
                foreach (var tag in (line ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
                {
                    if (tag == "*" || Opaque(tag) == mine) return true;
                }
            }
            return false;
        }
        var ims = request.Headers.IfModifiedSince;
        if (ims.Count == 0 || lastModified is null) return false;
        return DateTimeOffset.TryParse(ims.ToString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var since)
            && DateTimeOffset.TryParse(lastModified, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var modified)
            && modified <= since;
    }

    private static string Opaque(string tag) => tag.StartsWith("W/", StringComparison.Ordinal) ? tag[2..] : tag;

    /// <summary>
    /// After PHP answered: strips Askr-Cache, stores the answer when it may be stored, releases
    /// the key's in-flight marker (storing, hit-for-miss), and labels the response.
    /// </summary>
    public ResponseHead After(HttpContext context, CacheTicket? ticket, ResponseHead head)
    {
        var directive = TakeDirective(head.Headers);
        if (ticket is null) return head;
        if (ticket.Bypass)
        {
            head.Headers.Add(new(StatusHeader, "BYPASS"));
            return head;
        }
        if (ticket.Stale is { } stale && head.Status >= 500 && head.Stream is null && head.File is null && NowMs < stale.SieUntilMs)
            return ServeStaleOnError(ticket, stale);
        head.Headers.Add(new(StatusHeader, "MISS"));
        if (ticket.NoStore) return head;
        string? refusal = null;
        CacheDirective? parsed = null;
        if (directive is null) refusal = "no Askr-Cache header";
        else if ((parsed = CacheDirective.Parse(directive, out var error)) is null)
        {
            refusal = "malformed";
            var route = context.Request.Path.Value ?? "/";
            if (_loggedRoutes.Count < 10_000 && _loggedRoutes.TryAdd(route, 0))
                _log.Warning($"response cache: {route}: malformed Askr-Cache header ({error}); the response is sent uncached");
        }
        else refusal = Refusal(head);

        var now = NowMs;
        if (refusal is null && parsed is not null && TryStore(context, ticket, head, parsed, now)) return head;
        if (refusal is not null && refusal != "no Askr-Cache header" && directive is not null)
            _log.Debug($"response cache: {context.Request.Path}: not stored ({refusal})");
        if (ticket.Leader)
        {
            // Varnish's hit-for-miss: later requests go straight to PHP instead of queueing behind a leader.
            _store.Put(ticket.Key!, CacheEntryKind.HitForMiss, [], now, now + HitForMissSeconds * 1000L, 0, 0);
            ticket.Leader = false;
        }
        return head;
    }

    /// <summary>
    /// RFC 5861 §4: PHP failed (5xx, or the runtime's 500/504 for a crash or a timeout) while the
    /// expired entry was within stale-if-error: it goes back into the store (releasing the key's
    /// marker) and is the answer, labelled STALE.
    /// </summary>
    private ResponseHead ServeStaleOnError(CacheTicket ticket, CacheEntry stale)
    {
        var payload = stale.Blob.AsSpan(stale.PayloadOffset, stale.BlobLength - stale.PayloadOffset);
        _store.Put(ticket.Key!, CacheEntryKind.Response, payload, stale.StoredAtMs, stale.FreshUntilMs, stale.SwrUntilMs, stale.SieUntilMs, flushGeneration: stale.FlushGeneration);
        ticket.Leader = false;
        var (status, headers, bodyOffset, bodyLength) = CachedResponse.Decode(payload);
        var body = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(1, bodyLength));
        payload.Slice(bodyOffset, bodyLength).CopyTo(body);
        headers.Add(new("Age", Math.Max(0, (NowMs - stale.StoredAtMs) / 1000).ToString(CultureInfo.InvariantCulture)));
        headers.Add(new(StatusHeader, "STALE"));
        _store.Add(CacheStore.Counter.Stale);
        _log.Debug($"response cache: served stale {ticket.Target} instead of an error (stale-if-error)");
        return new ResponseHead { Status = status, Headers = headers, Body = body, BodyLength = bodyLength };
    }

    /// <summary>Starts the one background refresh of <paramref name="key"/> if no request of the node runs one.</summary>
    private void StartRefresh(HttpContext context, string key, string primary, string target, long sequence, long flush, long now)
    {
        if (Refresh is null) return;
        var marker = "\u0001refresh\n" + key;
        if (!_store.TryLead(marker, now, now + _timeoutMs + 5000, replace: true)) return;
        var copy = SyntheticRequest(context, target);
        var ticket = new CacheTicket { Key = key, PrimaryKey = primary, Sequence = sequence, FlushGeneration = flush, Target = target };
        _ = Task.Run(async () =>
        {
            try
            {
                var head = await Refresh(copy);
                if (head is null) return;
                try
                {
                    // A 5xx stores nothing: the stale entry stays (and keeps being served within swr).
                    After(copy, ticket, head);
                }
                finally
                {
                    if (head.Body is not null) System.Buffers.ArrayPool<byte>.Shared.Return(head.Body);
                    head.File?.Dispose();
                    head.Stream?.Writer.TryComplete();
                }
            }
            catch (Exception e)
            {
                _log.Warning($"response cache: background refresh of {target} failed: {e.Message}");
            }
            finally
            {
                _store.Abandon(marker);
            }
        });
    }

    /// <summary>A copy of the request for a background refresh: it outlives the client's exchange.</summary>
    private static HttpContext SyntheticRequest(HttpContext context, string target)
    {
        var copy = new DefaultHttpContext();
        var r = context.Request;
        copy.Request.Method = HttpMethods.Get;
        copy.Request.Scheme = r.Scheme;
        copy.Request.Host = r.Host;
        copy.Request.Protocol = r.Protocol;
        copy.Request.Path = r.Path;
        copy.Request.QueryString = r.QueryString;
        copy.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        foreach (var h in r.Headers)
        {
            if (h.Key.Equals(HeaderNames.IfNoneMatch, StringComparison.OrdinalIgnoreCase) || h.Key.Equals(HeaderNames.IfModifiedSince, StringComparison.OrdinalIgnoreCase)) continue;
            copy.Request.Headers[h.Key] = h.Value;
        }
        copy.Connection.RemoteIpAddress = context.Connection.RemoteIpAddress;
        copy.Connection.RemotePort = context.Connection.RemotePort;
        copy.Connection.LocalIpAddress = context.Connection.LocalIpAddress;
        copy.Connection.LocalPort = context.Connection.LocalPort;
        return copy;
    }

    /// <summary>Why an opted-in answer may not be stored (the rails of docs/response-cache.md), or null.</summary>
    private string? Refusal(ResponseHead head)
    {
        if (!s_cacheable.Contains(head.Status)) return $"status {head.Status} is not heuristically cacheable (RFC 9111 §4.2.2)";
        if (head.Stream is not null) return "streamed";
        if (head.File is not null) return "a file response";
        if (2L + head.BodyLength > _store.MaxEntryBytes) return $"body of {head.BodyLength} bytes is larger than the entry limit";
        foreach (var (name, value) in head.Headers)
        {
            if (name.Equals("Cache-Control", StringComparison.OrdinalIgnoreCase))
            {
                foreach (var d in value.Split(',', StringSplitOptions.TrimEntries))
                {
                    var directive = d.Split('=')[0].Trim().ToLowerInvariant();
                    if (directive is "private" or "no-store") return $"Cache-Control: {directive}";
                }
            }
            else if (name.Equals("Vary", StringComparison.OrdinalIgnoreCase) && value.Split(',', StringSplitOptions.TrimEntries).Contains("*"))
                return "Vary: *";
        }
        return null;
    }

    private bool TryStore(HttpContext context, CacheTicket ticket, ResponseHead head, CacheDirective directive, long now)
    {
        var tags = new List<(int, long)>(directive.Tags.Count + 1);
        foreach (var tag in directive.Tags.Append("url:" + ticket.Target))
        {
            var slot = CacheStore.TagSlot(tag);
            var generation = _store.TagGeneration(slot);
            // Purged while PHP was making this answer: it may already be out of date.
            if (generation > ticket.Sequence) return false;
            tags.Add((slot, generation));
        }
        if (_store.FlushGeneration != ticket.FlushGeneration) return false;
        var vary = new List<string>();
        var stored = new List<KeyValuePair<string, string>>(head.Headers.Count);
        foreach (var h in head.Headers)
        {
            if (h.Key.Equals("Set-Cookie", StringComparison.OrdinalIgnoreCase) || h.Key.Equals(StatusHeader, StringComparison.OrdinalIgnoreCase)
                || h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
                || h.Key.Equals("Connection", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase)
                || h.Key.Equals("Age", StringComparison.OrdinalIgnoreCase) || h.Key.Equals("Date", StringComparison.OrdinalIgnoreCase))
                continue;
            if (h.Key.Equals("Vary", StringComparison.OrdinalIgnoreCase))
                vary.AddRange(h.Value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries));
            stored.Add(h);
        }
        var fresh = now + directive.TtlSeconds * 1000L;
        var swr = directive.SwrSeconds > 0 ? fresh + directive.SwrSeconds * 1000L : 0;
        var sie = directive.SieSeconds > 0 ? fresh + directive.SieSeconds * 1000L : 0;
        var payload = CachedResponse.Encode(tags, head.Status, stored, head.Body.AsSpan(0, head.Body is null ? 0 : head.BodyLength));
        var key = ticket.PrimaryKey!;
        if (vary.Count > 0)
        {
            vary = vary.Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            key = VaryKey(ticket.PrimaryKey!, vary, context.Request);
            // The response first, then the Vary marker: the marker replaces the leader's in-flight
            // marker on the primary key and so settles it, and a waiter woken by that must find
            // the response under its Vary key, not a miss that makes it a second leader.
            if (!_store.Put(key, CacheEntryKind.Response, payload, now, fresh, swr, sie, flushGeneration: ticket.FlushGeneration)) return false;
            if (!_store.Put(ticket.PrimaryKey!, CacheEntryKind.Vary, CachedResponse.EncodeVary(vary), now, fresh, swr, sie, flushGeneration: ticket.FlushGeneration)) return false;
        }
        else if (!_store.Put(key, CacheEntryKind.Response, payload, now, fresh, swr, sie, flushGeneration: ticket.FlushGeneration)) return false;
        if (ticket.Leader && key != ticket.Key) _store.Abandon(ticket.Key!);
        ticket.Leader = false;
        _store.Add(CacheStore.Counter.Stores);
        _log.Debug($"response cache: stored {context.Request.Path} ({payload.Length} bytes, ttl {directive.TtlSeconds} s, tags {string.Join(",", directive.Tags)})");
        return true;
    }

    /// <summary>The request ended without <see cref="After"/> settling its marker (client gone, error): let a waiter lead.</summary>
    public void Release(CacheTicket? ticket)
    {
        ticket?.Stale?.Return();
        if (ticket is { Leader: true, Key: { } key })
        {
            _store.Abandon(key);
            ticket.Leader = false;
        }
    }
}
