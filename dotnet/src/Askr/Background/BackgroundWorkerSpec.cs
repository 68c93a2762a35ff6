using System.Globalization;

namespace Askr.Background;

/// <summary>
/// One <c>--background-worker NAME=SCRIPT[:num=N][:lazy]</c> of askr serve
/// (docs/background-workers.md): <see cref="Count"/> processes (a pool) run <see cref="Script"/>
/// under one name, one snapshot and one readiness; a lazy one starts at its first
/// ensure_background_worker(). Two names may share a script (each process sees its own name).
/// </summary>
public sealed record BackgroundWorkerSpec(string Name, string Script, int Count = 1, bool Lazy = false)
{
    /// <summary>Parses the option's value; throws <see cref="FormatException"/> saying what is wrong.</summary>
    public static BackgroundWorkerSpec Parse(string value)
    {
        var eq = value.IndexOf('=');
        if (eq <= 0 || eq == value.Length - 1)
            throw new FormatException($"--background-worker {value}: expected NAME=SCRIPT[:num=N][:lazy]");
        var name = value[..eq];
        if (System.Text.Encoding.UTF8.GetByteCount(name) > VarsStore.MaxNameBytes)
            throw new FormatException($"--background-worker {value}: the name is longer than {VarsStore.MaxNameBytes} bytes");
        var parts = value[(eq + 1)..].Split(':');
        var script = parts[0];
        var count = 1;
        var lazy = false;
        foreach (var part in parts.Skip(1))
        {
            if (part == "lazy") lazy = true;
            else if (part.StartsWith("num=", StringComparison.Ordinal) && int.TryParse(part.AsSpan(4), NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 64) count = n;
            else throw new FormatException($"--background-worker {value}: unknown part \"{part}\" (expected num=N with N in 1..64, or lazy)");
        }
        if (script.Length == 0) throw new FormatException($"--background-worker {value}: no script");
        return new BackgroundWorkerSpec(name, script, count, lazy);
    }

    /// <summary>The option's value again (the script as an absolute path).</summary>
    public override string ToString() => $"{Name}={Script}{(Count > 1 ? $":num={Count}" : "")}{(Lazy ? ":lazy" : "")}";
}
