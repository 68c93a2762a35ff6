using System.Runtime.InteropServices;
using System.Text;
using Askr.Php;

namespace Askr.ResponseCache;

/// <summary>
/// The PHP thread's side of the response cache natives (native/shim/cache.c):
/// cache_forget_tag(), cache_forget() and cache_flush(). Each moves a generation of the node's
/// shared cache (O(1)) and records the purge for the cluster (<see cref="CachePurgeReplication"/>).
/// Without a response cache they do nothing. As every callback of the seam, it catches
/// everything and returns an error code (docs/natives.md).
/// </summary>
internal static unsafe class CacheNatives
{
    public static void Register(ShimInterop.Callbacks* callbacks) => callbacks->CachePurge = &OnPurge;

    [UnmanagedCallersOnly]
    private static int OnPurge(int kind, ShimInterop.Str* items, long count)
    {
        try
        {
            var store = PhpThread.Current.ResponseCache;
            if (store is null) return 0;
            var list = new List<string>((int)count);
            for (var i = 0; i < count; i++) list.Add(Encoding.UTF8.GetString(items[i].Ptr, (int)items[i].Len));
            Purge(store, kind, list, PhpThread.Current.Store);
            return 0;
        }
        catch (Exception e) { return PhpThread.Fail(e); }
    }

    /// <summary>Applies one purge: <paramref name="kind"/> is a ShimInterop.CachePurge* value.</summary>
    public static void Purge(CacheStore store, int kind, IReadOnlyList<string> items, Tables.TableStore? tables)
    {
        switch (kind)
        {
            case ShimInterop.CachePurgeTags:
                foreach (var tag in items) store.BumpTag(tag);
                CachePurgeReplication.Record(tables, items.Select(CacheStore.TagSlot), flush: false);
                break;
            case ShimInterop.CachePurgeUrls:
                foreach (var url in items) store.BumpTag(UrlTag(url));
                CachePurgeReplication.Record(tables, items.Select(u => CacheStore.TagSlot(UrlTag(u))), flush: false);
                break;
            case ShimInterop.CachePurgeFlush:
                store.Flush();
                CachePurgeReplication.Record(tables, [], flush: true);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a CACHE_PURGE kind");
        }
        store.Add(CacheStore.Counter.Purges);
        Logging.LogWriter.Current.Debug($"response cache: purged {(kind == ShimInterop.CachePurgeFlush ? "everything" : string.Join(", ", items))}");
    }

    /// <summary>
    /// The implicit tag every entry carries for its URL: "url:" + path and query as the client
    /// sent them. <paramref name="url"/> is absolute (scheme://host/path?query) or a path; a
    /// fragment is dropped.
    /// </summary>
    public static string UrlTag(string url)
    {
        var target = url;
        var scheme = url.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            var slash = url.IndexOfAny(['/', '?'], scheme + 3);
            target = slash < 0 ? "/" : url[slash..];
            if (target.StartsWith('?')) target = "/" + target;
        }
        var hash = target.IndexOf('#');
        if (hash >= 0) target = target[..hash];
        if (target.Length == 0) target = "/";
        return "url:" + target;
    }
}
