using System.Text;
using System.Text.Json.Serialization;
using Askr.Php;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Askr.ResponseCache;

/// <summary>The response cache's counters in <c>GET /status</c> ("response_cache").</summary>
public sealed class CacheStatus
{
    [JsonPropertyName("hits")] public long Hits { get; init; }
    [JsonPropertyName("misses")] public long Misses { get; init; }
    [JsonPropertyName("stale")] public long Stale { get; init; }
    [JsonPropertyName("coalesced")] public long Coalesced { get; init; }
    [JsonPropertyName("bypasses")] public long Bypasses { get; init; }
    [JsonPropertyName("stores")] public long Stores { get; init; }
    [JsonPropertyName("evictions")] public long Evictions { get; init; }
    [JsonPropertyName("purges")] public long Purges { get; init; }
    [JsonPropertyName("entries")] public long Entries { get; init; }
    /// <summary>Bytes of the records in use (keys, headers, bodies; not rounded up to blocks).</summary>
    [JsonPropertyName("bytes_used")] public long BytesUsed { get; init; }
    /// <summary>Size of the shared memory file.</summary>
    [JsonPropertyName("bytes_total")] public long BytesTotal { get; init; }

    public static CacheStatus Of(CacheStore s) => new()
    {
        Hits = s.Read(CacheStore.Counter.Hits),
        Misses = s.Read(CacheStore.Counter.Misses),
        Stale = s.Read(CacheStore.Counter.Stale),
        Coalesced = s.Read(CacheStore.Counter.Coalesced),
        Bypasses = s.Read(CacheStore.Counter.Bypasses),
        Stores = s.Read(CacheStore.Counter.Stores),
        Evictions = s.Read(CacheStore.Counter.Evictions),
        Purges = s.Read(CacheStore.Counter.Purges),
        Entries = s.Read(CacheStore.Counter.Entries),
        BytesUsed = s.Read(CacheStore.Counter.BytesUsed),
        BytesTotal = s.FileBytes,
    };
}

/// <summary>
/// <c>POST /cache/purge</c> on the admin endpoint: <c>tag=</c> (repeatable), <c>url=</c>
/// (repeatable) or <c>flush=1</c>, in the query or an application/x-www-form-urlencoded body.
/// Like every state-changing admin call it needs <c>Authorization: Bearer &lt;admin token&gt;</c>;
/// the admin endpoint checks it (and the Origin and Host) before this route runs
/// (Supervision.AdminEndpoint; octane:start generates the token and records it in the server
/// state file). No tag, url or flush is 400.
/// </summary>
internal static class AdminPurge
{
    public static void Map(WebApplication app, CacheStore store, Tables.TableStore? tables)
    {
        app.MapPost("/cache/purge", async (HttpContext context) =>
        {
            var tags = new List<string>(context.Request.Query["tag"].Where(v => v is not null)!);
            var urls = new List<string>(context.Request.Query["url"].Where(v => v is not null)!);
            var flush = context.Request.Query["flush"].Count > 0;
            if (context.Request.HasFormContentType)
            {
                var form = await context.Request.ReadFormAsync();
                tags.AddRange(form["tag"].Where(v => v is not null)!);
                urls.AddRange(form["url"].Where(v => v is not null)!);
                flush |= form["flush"].Count > 0;
            }
            if (tags.Count == 0 && urls.Count == 0 && !flush)
                return Results.Json(new { error = "give tag=, url= or flush=1" }, statusCode: 400);
            foreach (var tag in tags)
            {
                if (tag.Length == 0 || Encoding.UTF8.GetByteCount(tag) > CacheDirective.MaxTagLength)
                    return Results.Json(new { error = $"a tag must have 1 to {CacheDirective.MaxTagLength} bytes" }, statusCode: 400);
            }
            if (urls.Any(u => u.Length == 0)) return Results.Json(new { error = "url= must not be empty" }, statusCode: 400);
            if (tags.Count > 0) CacheNatives.Purge(store, ShimInterop.CachePurgeTags, tags, tables);
            if (urls.Count > 0) CacheNatives.Purge(store, ShimInterop.CachePurgeUrls, urls, tables);
            if (flush) CacheNatives.Purge(store, ShimInterop.CachePurgeFlush, [], tables);
            return Results.Json(new { purged = new { tags, urls, flush } });
        });
    }
}
