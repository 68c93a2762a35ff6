using System.Globalization;

namespace Askr.Background;

/// <summary>
/// One <c>--background-worker NAME=SCRIPT[:num=N][:lazy][:scope=cluster]</c> of askr serve
/// (docs/background-workers.md): <see cref="Count"/> processes (a pool) run <see cref="Script"/>
/// under one name, one snapshot and one readiness; a lazy one starts at its first
/// ensure_background_worker(). Two names may share a script (each process sees its own name).
/// <see cref="Cluster"/> (scope=cluster): the worker runs on one node of the cluster only and its
/// vars are replicated to every node; such a worker cannot be lazy (its node starts it).
/// </summary>
public sealed record BackgroundWorkerSpec(string Name, string Script, int Count = 1, bool Lazy = false, bool Cluster = false)
{
    /// <summary>Parses the option's value; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static BackgroundWorkerSpec Parse(string value)
    {
        var eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1)
            throw new FormatException($"--background-worker {value}: expected NAME=SCRIPT[:num=N][:lazy][:scope=cluster]");
        var name = value[..eq];
        if (System.Text.Encoding.UTF8.GetByteCount(name) > VarsStore.MaxNameBytes)
            throw new FormatException($"--background-worker {value}: the name is longer than {VarsStore.MaxNameBytes} bytes");
        var parts = value[(eq + 1)..].Split(':');
        var script = parts[0];
        var count = 1;
        var lazy = false;
        var cluster = false;
        foreach (var part in parts.Skip(1))
        {
            if (part == "lazy") lazy = true;
            else if (part == "scope=cluster") cluster = true;
            else if (part == "scope=node") cluster = false;
            else if (part.StartsWith("num=", StringComparison.Ordinal) && int.TryParse(part.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 64) count = n;
            else throw new FormatException($"--background-worker {value}: unknown part \"{part}\" (expected num=N with N in 1..64, lazy, scope=node or scope=cluster)");
        }
        if (script.Length == 0) throw new FormatException($"--background-worker {value}: no script");
        if (lazy && cluster) throw new FormatException($"--background-worker {value}: a scope=cluster worker cannot be lazy (the node the cluster places it on starts it)");
        return new BackgroundWorkerSpec(name, script, count, lazy, cluster);
    }

    /// <summary>The option's value again (the script as an absolute path).</summary>
    public override string ToString() => $"{Name}={Script}{(Count > 1 ? $":num={Count}" : "")}{(Lazy ? ":lazy" : "")}{(Cluster ? ":scope=cluster" : "")}";
}
