using System.CommandLine;
using System.Text;
using Askr.Logging;
using Askr.Php;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Askr.Lifecycle;

/// <summary>
/// <c>askr replay FILE [--root DIR --worker-script PATH | --app PATH]</c> (docs/lifecycle.md):
/// runs the request of a record written by <c>askr serve --record-errors</c> against a fresh PHP
/// interpreter in this process, exactly as recorded (method, URI, headers, server variables,
/// body), and prints the response to stdout as HTTP/1.1 would carry it: the status line, the
/// headers, an empty line, the body. What PHP logs goes to stderr. Exit status: 0 when the
/// request was replayed (whatever its status), 65 for a malformed record, 66 when the app or
/// script cannot be found, 70 when PHP could not answer.
/// </summary>
internal static class ReplayCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "A record written by askr serve --record-errors." };
        var root = new Option<string?>("--root") { Description = "Document root (PHP's working directory)." };
        var script = new Option<string?>("--worker-script") { Description = "The worker script that loops on Ephpm\\Octane\\take_request()." };
        var app = new Option<string?>("--app") { Description = "A Laravel app's base path: --root is its public/, the worker script askr's Octane worker, APP_BASE_PATH is set." };
        var ini = new Option<string[]>("--php-ini") { Description = "Extra php.ini entry key=value (repeatable)." };
        var timeout = new Option<int>("--request-timeout") { Description = "Seconds the replayed request may run (0: no limit).", DefaultValueFactory = _ => 60 };
        var command = new Command("replay", "Run a recorded request (askr serve --record-errors) against a fresh interpreter and print the response.")
        {
            file, root, script, app, ini, timeout,
        };
        command.SetAction(parse => Run(parse.GetValue(file)!, parse.GetValue(root), parse.GetValue(script), parse.GetValue(app),
            parse.GetValue(ini) ?? [], parse.GetValue(timeout)));
        return command;
    }

    private static int Run(string path, string? root, string? script, string? app, string[] ini, int timeoutSeconds)
    {
        var record = RequestRecord.Read(path, out var error);
        if (record is null)
        {
            Console.Error.WriteLine($"askr replay: {path}: {error}");
            return 65;
        }
        if (app is not null)
        {
            if (!File.Exists(Path.Combine(app, "artisan")) && !File.Exists(Path.Combine(app, "bootstrap", "app.php")))
            {
                Console.Error.WriteLine($"askr replay: --app {app}: not a Laravel application (no artisan, no bootstrap/app.php)");
                return 66;
            }
            app = Path.GetFullPath(app);
            root ??= Path.Combine(app, "public");
            script ??= Path.Combine(app, "vendor", "askr", "octane-driver", "bin", "askr-worker.php");
            Environment.SetEnvironmentVariable("APP_BASE_PATH", app);
        }
        if (root is null || script is null)
        {
            Console.Error.WriteLine("askr replay: give --root and --worker-script, or --app");
            return 66;
        }
        if (!Directory.Exists(root))
        {
            Console.Error.WriteLine($"askr replay: --root {root}: no such directory");
            return 66;
        }
        if (!File.Exists(script))
        {
            Console.Error.WriteLine($"askr replay: --worker-script {script}: no such file{(app is not null ? " (give --worker-script: the askr driver is not in the app's vendor/)" : "")}");
            return 66;
        }
        foreach (var r in record.Redacted)
            Console.Error.WriteLine($"askr replay: note: {r} was redacted when recorded; replayed as \"{RequestRecord.RedactedValue}\"");

        // PHP's own output (warnings, echo outside a buffer) and the runtime's log go to stderr.
        var log = LogWriter.Current = new LogWriter(LogFormat.Text, LogLevel.Warning, Console.OpenStandardError());
        var php = new PhpThread(script, root, maxQueue: 1, timeoutSeconds, ini, log)
        {
            FillEnvelope = (_, arena) =>
            {
                record.WriteTo(arena);
                return true;
            },
        };
        var context = new DefaultHttpContext();
        context.Request.Method = record.Method;
        var q = record.Uri.IndexOf('?');
        context.Request.Path = q < 0 ? record.Uri : record.Uri[..q];
        var request = new PhpRequest(context, record.Body.Length == 0 ? null : record.Body, record.Body.Length);
        request.MarkSent(); // there is no wire: deferred callbacks run at once
        php.Start();
        php.TryEnqueue(request);
        int code;
        try
        {
            var finished = Task.WhenAny(request.Head, php.Exited).GetAwaiter().GetResult();
            if (finished != request.Head)
            {
                Console.Error.WriteLine($"askr replay: the worker script stopped before it answered (exit {php.Exited.Result})");
                code = 70;
            }
            else
            {
                Print(request.Head.Result).GetAwaiter().GetResult();
                code = 0;
            }
        }
        finally
        {
            php.RequestShutdown();
            php.Exited.Wait(TimeSpan.FromSeconds(Math.Max(10, timeoutSeconds + 5)));
            log.Flush(TimeSpan.FromSeconds(2));
        }
        return code;
    }

    private static async Task Print(ResponseHead head)
    {
        using var stdout = Console.OpenStandardOutput();
        var text = new StringBuilder();
        text.Append("HTTP/1.1 ").Append(head.Status).Append(' ').Append(ReasonPhrases.GetReasonPhrase(head.Status)).Append("\r\n");
        foreach (var (name, value) in head.Headers) text.Append(name).Append(": ").Append(value).Append("\r\n");
        text.Append("\r\n");
        await stdout.WriteAsync(Encoding.UTF8.GetBytes(text.ToString()));
        if (head.Body is not null && head.BodyLength > 0) await stdout.WriteAsync(head.Body.AsMemory(0, head.BodyLength));
        if (head.Stream is { } stream)
        {
            await foreach (var chunk in stream.Reader.ReadAllAsync())
            {
                await stdout.WriteAsync(chunk.Buffer.AsMemory(0, chunk.Length));
            }
        }
        if (head.File is { } file)
        {
            await using (file)
            {
                file.Seek(head.FileOffset, SeekOrigin.Begin);
                var buffer = new byte[64 * 1024];
                var left = head.FileLength;
                while (left > 0)
                {
                    var n = await file.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)));
                    if (n == 0) break;
                    await stdout.WriteAsync(buffer.AsMemory(0, n));
                    left -= n;
                }
            }
        }
        await stdout.FlushAsync();
    }
}
