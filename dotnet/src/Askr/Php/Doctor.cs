using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Askr.Php;

/// <summary>
/// <c>askr doctor</c>: checks, in this process, that libphp and the shim load, that the shim's
/// contract matches the runtime's (<see cref="ShimContract"/>), that PHP starts with askr's SAPI, which extensions load, and that OPcache is
/// really active. Prints each finding with how to fix it; exits 1 if anything is wrong.
/// </summary>
internal static unsafe class Doctor
{
    private static readonly StringBuilder s_output = new();
    private static readonly StringBuilder s_log = new();

    public static int Run(string[] extraIni)
    {
        var problems = 0;
        void Ok(string what) => Console.WriteLine($"  ok       {what}");
        void Problem(string what, string fix) { problems++; Console.WriteLine($"  PROBLEM  {what}\n           fix: {fix}"); }

        Console.WriteLine("askr doctor");
        const string libphp = "/usr/lib/libphp8.2.so";
        if (NativeLibrary.TryLoad("libphp8.2.so", out _) || NativeLibrary.TryLoad(libphp, out _)) Ok("libphp8.2.so loads (PHP embed SAPI, NTS)");
        else Problem("libphp8.2.so cannot be loaded", "apt-get install libphp8.2-embed");

        var shim = NativeLoader.ShimPath();
        if (shim is null || !NativeLibrary.TryLoad(shim, out _))
        {
            Problem($"libaskrshim.so not found or not loadable ({shim ?? "not next to the askr binary, ASKR_SHIM unset"})", "run scripts/setup.sh (builds native/shim and copies it next to askr)");
            return 1;
        }
        Ok($"shim loads: {shim}");
        var differences = ShimContract.Differences();
        if (differences.Count > 0)
        {
            Problem($"the shim was built from another askr_shim.h or constants.json than the runtime ({differences.Count} differences; first: {differences[0]})", "rebuild both with scripts/build.sh");
            return 1;
        }
        Ok("the shim's structs, fields and constants match the runtime's (askr_shim_contract)");

        string? report = null;
        int rc = -1;
        var thread = new Thread(() => (rc, report) = Probe(extraIni), 64 * 1024 * 1024);
        thread.Start();
        thread.Join();
        if (rc != 0 || report is null)
        {
            Problem($"PHP did not start or the probe script failed (code {rc}): {s_log}{s_output}", "run `php -v` and check /etc/php/8.2/embed/php.ini; reinstall libphp8.2-embed");
            return 1;
        }
        using var json = JsonDocument.Parse(report);
        var r = json.RootElement;
        Ok($"PHP {r.GetProperty("version").GetString()} starts, SAPI \"{r.GetProperty("sapi").GetString()}\", php.ini: {r.GetProperty("ini").GetString()}");
        var extensions = r.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()).ToList();
        Ok($"{extensions.Count} extensions: {string.Join(' ', extensions)}");
        foreach (var needed in new[] { "mbstring", "openssl", "tokenizer", "ctype", "json", "pdo" })
        {
            if (!extensions.Contains(needed, StringComparer.OrdinalIgnoreCase))
                Problem($"extension {needed} (needed by Laravel) is not loaded", $"apt-get install php8.2-{needed}");
        }
        if (r.GetProperty("opcache").GetBoolean()) Ok("OPcache is active (opcache_get_status() is not false)");
        else Problem("OPcache is not active", "apt-get install php8.2-opcache; check opcache.enable in /etc/php/8.2/embed/conf.d/10-opcache.ini");
        if (r.GetProperty("max_execution_time").GetString() == "0") Ok("max_execution_time is 0 (request time limits are the runtime's)");
        else Problem("max_execution_time is not 0", "remove max_execution_time from --php-ini");
        if (s_log.Length > 0) Console.WriteLine($"  PHP said: {s_log.ToString().Trim()}");
        Console.WriteLine(problems == 0 ? "all good" : $"{problems} problem(s)");
        return problems == 0 ? 0 : 1;
    }

    private static (int, string?) Probe(string[] extraIni)
    {
        var callbacks = new ShimInterop.Callbacks { Take = &Take, Send = &Send, Chunk = &Chunk, File = &SendFile, Output = &Output, Log = &Log };
        var rc = ShimInterop.Startup(&callbacks, PhpThread.SapiName, string.Join('\n', extraIni));
        if (rc != 0) return (rc, null);
        var script = Path.Combine(Path.GetTempPath(), $"askr-doctor-{Environment.ProcessId}.php");
        File.WriteAllText(script, """
            <?php
            echo json_encode([
                'version' => PHP_VERSION,
                'sapi' => PHP_SAPI,
                'ini' => php_ini_loaded_file() ?: '(none)',
                'extensions' => get_loaded_extensions(),
                'opcache' => function_exists('opcache_get_status') && opcache_get_status(false) !== false,
                'max_execution_time' => ini_get('max_execution_time'),
            ]);
            """);
        try
        {
            var result = ShimInterop.Run(script, out var status);
            return (result == ShimInterop.RunOk && status == 0 ? 0 : 100 + result, s_output.ToString());
        }
        finally
        {
            File.Delete(script);
            ShimInterop.Shutdown();
        }
    }

    [UnmanagedCallersOnly] private static int Take(long t, ShimInterop.Envelope* e) => ShimInterop.TakeShutdown;
    [UnmanagedCallersOnly] private static int Send(int s, ShimInterop.Str* h, long n, byte* b, long l, int f) => ShimInterop.SendNoRequest;
    [UnmanagedCallersOnly] private static int Chunk(byte* d, long l, int f) => ShimInterop.SendNoRequest;
    [UnmanagedCallersOnly] private static int SendFile(int s, ShimInterop.Str* h, long n, byte* p, long pl, long o, long l) => ShimInterop.SendNoRequest;
    [UnmanagedCallersOnly] private static void Output(byte* d, long l) { try { s_output.Append(Encoding.UTF8.GetString(d, (int)l)); } catch { } }
    [UnmanagedCallersOnly] private static void Log(int level, byte* m, long l) { try { s_log.AppendLine(Encoding.UTF8.GetString(m, (int)l)); } catch { } }
}
