using System.Globalization;

namespace Askr.ResponseCache;

/// <summary>
/// The <c>Askr-Cache</c> response header, with which an app opts a response into the cache:
/// <c>Askr-Cache: &lt;ttl&gt;[, swr=&lt;seconds&gt;][, sie=&lt;seconds&gt;][, tags=&lt;tag&gt;[,&lt;tag&gt;...]]</c>.
/// <c>ttl</c> is the seconds the entry is fresh; <c>swr</c> (stale-while-revalidate) and
/// <c>sie</c> (stale-if-error) are RFC 5861's, counted after the ttl. After <c>tags=</c> every
/// comma-separated item without <c>=</c> is one more tag. Reference: docs/response-cache.md.
/// </summary>
public sealed record CacheDirective(int TtlSeconds, int SwrSeconds, int SieSeconds, IReadOnlyList<string> Tags)
{
    /// <summary>Longest ttl, swr or sie: one year, seconds.</summary>
    public const int MaxSeconds = 31_536_000;
    /// <summary>Most tags one response may carry.</summary>
    public const int MaxTags = 64;
    /// <summary>Longest tag, bytes.</summary>
    public const int MaxTagLength = 200;

    /// <summary>Parses the header's value; null with <paramref name="error"/> saying why when it is malformed.</summary>
    public static CacheDirective? Parse(string value, out string? error)
    {
        error = null;
        var items = value.Split(',', StringSplitOptions.TrimEntries);
        if (items.Length == 0 || items[0].Length == 0)
        {
            error = "empty header: expected a ttl in seconds first";
            return null;
        }
        if (!TryParseSeconds(items[0], out var ttl) || ttl == 0)
        {
            error = $"bad ttl '{Clip(items[0])}': expected whole seconds from 1 to {MaxSeconds}";
            return null;
        }
        int swr = 0, sie = 0;
        var tags = new List<string>();
        var inTags = false;
        for (var i = 1; i < items.Length; i++)
        {
            var item = items[i];
            var eq = item.IndexOf('=');
            if (eq < 0)
            {
                if (!inTags)
                {
                    error = $"unknown directive '{Clip(item)}': expected swr=, sie= or tags=";
                    return null;
                }
                if (!AddTag(tags, item, out error)) return null;
                continue;
            }
            var name = item[..eq].Trim().ToLowerInvariant();
            var arg = item[(eq + 1)..].Trim();
            switch (name)
            {
                case "swr":
                    if (!TryParseSeconds(arg, out swr)) { error = $"bad swr '{Clip(arg)}': expected whole seconds from 0 to {MaxSeconds}"; return null; }
                    inTags = false;
                    break;
                case "sie":
                    if (!TryParseSeconds(arg, out sie)) { error = $"bad sie '{Clip(arg)}': expected whole seconds from 0 to {MaxSeconds}"; return null; }
                    inTags = false;
                    break;
                case "tags":
                    inTags = true;
                    if (!AddTag(tags, arg, out error)) return null;
                    break;
                default:
                    error = $"unknown directive '{Clip(name)}': expected swr=, sie= or tags=";
                    return null;
            }
        }
        return new CacheDirective(ttl, swr, sie, tags);
    }

    private static bool AddTag(List<string> tags, string tag, out string? error)
    {
        error = null;
        if (tag.Length == 0) { error = "empty tag"; return false; }
        if (System.Text.Encoding.UTF8.GetByteCount(tag) > MaxTagLength) { error = $"tag of {tag.Length} characters: at most {MaxTagLength} bytes"; return false; }
        foreach (var c in tag)
        {
            if (c <= ' ' || c == 0x7f || c == '"' || c == ';') { error = $"tag '{Clip(tag)}' holds a space, control character, quote or ';'"; return false; }
        }
        if (tags.Count == MaxTags) { error = $"more than {MaxTags} tags"; return false; }
        if (!tags.Contains(tag, StringComparer.Ordinal)) tags.Add(tag);
        return true;
    }

    private static bool TryParseSeconds(string s, out int seconds) =>
        int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) && seconds <= MaxSeconds;

    private static string Clip(string s) => s.Length <= 40 ? s : s[..40] + "...";
}
