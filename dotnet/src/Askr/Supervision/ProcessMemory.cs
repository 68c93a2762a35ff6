using System.Text.Json.Serialization;

namespace Askr.Supervision;

/// <summary>
/// One process's memory, in bytes, from Linux's <c>/proc/&lt;pid&gt;/smaps_rollup</c> (Linux 4.14;
/// the Pss_Anon/Pss_File/Pss_Shmem split since 5.9): the sums over all of the process's mappings
/// that <c>/proc/&lt;pid&gt;/smaps</c> lists one by one (kernel Documentation/filesystems/proc.rst).
/// <para>RSS counts every resident page the process maps, so a page shared by N processes
/// (the askr binary, libphp, .NET's libraries, a shared-memory table) counts N times across the
/// node. PSS (proportional set size) counts such a page 1/N in each: the PSS of all processes
/// sums to the memory the node really uses. Pss ≤ Rss always holds within one reading.</para>
/// <para>Rss here is smaps_rollup's own (a page-table walk at the same moment as Pss), not
/// /proc/&lt;pid&gt;/status's VmRSS (per-thread counters, synced lazily); when smaps_rollup cannot be
/// read (older kernel, another user's process) Rss falls back to VmRSS and the Pss fields are 0.
/// All fields are 0 when the process is gone.</para>
/// </summary>
public readonly record struct ProcessMemory(
    [property: JsonPropertyName("rss_bytes")] long RssBytes,
    [property: JsonPropertyName("pss_bytes")] long PssBytes,
    [property: JsonPropertyName("pss_anon_bytes")] long PssAnonBytes,
    [property: JsonPropertyName("pss_file_bytes")] long PssFileBytes,
    [property: JsonPropertyName("pss_shmem_bytes")] long PssShmemBytes)
{
    /// <summary>Reads process <paramref name="pid"/>'s memory; all zero if it cannot be read.</summary>
    public static ProcessMemory Read(int pid)
    {
        try
        {
            return Parse(File.ReadAllText($"/proc/{pid}/smaps_rollup"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return new ProcessMemory(VmRss(pid), 0, 0, 0, 0);
    }

    /// <summary>Parses smaps_rollup's text ("Name:   123 kB" lines, kB = 1024 bytes); a missing field is 0.</summary>
    internal static ProcessMemory Parse(string text)
    {
        long rss = 0, pss = 0, anon = 0, file = 0, shmem = 0;
        foreach (var line in text.Split('\n'))
        {
            var colon = line.IndexOf(':');
            if (colon <= 0) continue;
            switch (line.AsSpan(0, colon))
            {
                case "Rss": rss = Kb(line, colon); break;
                case "Pss": pss = Kb(line, colon); break;
                case "Pss_Anon": anon = Kb(line, colon); break;
                case "Pss_File": file = Kb(line, colon); break;
                case "Pss_Shmem": shmem = Kb(line, colon); break;
            }
        }
        return new ProcessMemory(rss, pss, anon, file, shmem);
    }

    /// <summary>VmRSS of /proc/&lt;pid&gt;/status, in bytes; 0 if unknown.</summary>
    internal static long VmRss(int pid)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
                if (line.StartsWith("VmRSS:")) return Kb(line, 5);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException) { }
        return 0;
    }

    private static long Kb(string line, int colon)
    {
        var value = line.AsSpan(colon + 1).Trim();
        var space = value.IndexOf(' ');
        return long.Parse(space < 0 ? value : value[..space]) * 1024;
    }
}
