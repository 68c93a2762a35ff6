using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using Askr.Cli;
using Askr.Logging;
using Askr.Php;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Askr.Worker;

/// <summary>
/// The end of Kestrel's pipeline: reads the body, queues the request for the PHP thread, and
/// writes what PHP answered (buffered, streamed chunk by chunk, or from a file).
/// </summary>
internal sealed class PhpRequestHandler
{
    private readonly PhpThread _php;
    private readonly ServeOptions _options;
    private readonly LogWriter _log;
    private readonly string _documentRoot;
    private static readonly TimeSpan StreamAbortGrace = TimeSpan.FromMilliseconds(100);
    /// <summary>X-Sendfile / X-Accel-Redirect (--sendfile-root); null: those headers are passed on.</summary>
    private readonly Front.Sendfile? _sendfile;

    /// <summary>The node's response cache (--response-cache); null when it is off.</summary>
    public ResponseCache.ResponseCacheHandler? Cache { get; init; }

    private readonly Lifecycle.ErrorRecorder? _recorder;

    public PhpRequestHandler(PhpThread php, ServeOptions options, LogWriter log, int slot = -1)
    {
        _php = php;
        _options = options;
        _log = log;
        if (options.RecordErrors is { } recordDirectory)
            _recorder = new Lifecycle.ErrorRecorder(recordDirectory, options.RecordRedact, options.RecordSensitive,
                options.RecordMaxFiles, options.RecordMaxBytes, slot, log);
        _documentRoot = Path.GetFullPath(options.Root);
        if (options.SendfileRoots.Count > 0) _sendfile = new Front.Sendfile(options.SendfileRoots, log);
    }

    public async Task HandleAsync(HttpContext context)
    {
        var arrived = System.Diagnostics.Stopwatch.GetTimestamp();
        Metrics.RequestMetrics.Current.Started();
        // Autoscaling moved load to new workers: this connection's client connects again, to one of them.
        if (context.Request.Protocol == "HTTP/1.1" && ConnectionShedding.TryTake()) context.Response.Headers.Connection = "close";
        byte[]? body = null;
        var bodyLength = 0;
        var status = 0;
        long memory = 0;
        PhpRequest? request = null;
        ResponseCache.CacheTicket? ticket = null;
        try
        {
            if (Cache is not null)
            {
                ticket = await Cache.BeforeAsync(context);
                if (ticket is { Served: true })
                {
                    status = ticket.Status;
                    return;
                }
            }
            var declared = context.Request.ContentLength;
            if (declared > _options.MaxBodySize)
            {
                status = await AnswerAsync(context, 413, "Payload Too Large: the body exceeds --max-body-size");
                return;
            }
            try
            {
                (body, bodyLength) = await ReadBodyAsync(context.Request.BodyReader, declared);
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException e) when (e.StatusCode == 413)
            {
                status = await AnswerAsync(context, 413, "Payload Too Large: the body exceeds --max-body-size");
                return;
            }

            request = new PhpRequest(context, body, bodyLength);
            // Deferred callbacks (defer()) start once Kestrel has ended the response on the wire.
            context.Response.OnCompleted(static state =>
            {
                ((PhpRequest)state).MarkSent();
                return Task.CompletedTask;
            }, request);
            if (!_php.TryEnqueue(request))
            {
                status = await AnswerAsync(context, 503, "Service Unavailable: the worker's queue is full");
                return;
            }
            var head = await request.Head;
            status = head.Status;
            memory = head.Memory;
            // --record-errors: a 5xx that PHP produced (not the runtime's 503s, which never reached it).
            var record = _recorder is not null && status >= 500 && !(head.ByRuntime && status == 503);
            if (Cache is not null)
            {
                var answer = Cache.After(context, ticket, head);
                if (!ReferenceEquals(answer, head))
                {
                    // Stale-if-error: the stored entry answers instead of PHP's error.
                    if (head.Body is not null) ArrayPool<byte>.Shared.Return(head.Body);
                    head = answer;
                    status = head.Status;
                }
            }
            else ResponseCache.ResponseCacheHandler.TakeDirective(head.Headers);
            if (_sendfile is not null && Front.Sendfile.Target(head, out var header) is { } target)
            {
                status = await _sendfile.ServeAsync(context, head, header, target);
                return;
            }
            await WriteAsync(context, head);
            if (record) Record(request, status);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ConnectionResetException)
        {
            // The client went away, or a streamed response was cut short: nothing to answer.
            context.Abort();
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            // Kestrel answers what escapes before the response started itself: a malformed body
            // with its status (400...), anything else (e.g. a body on a 2xx answer to CONNECT,
            // which it refuses) with 500. Log that, not the status PHP chose.
            status = e is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : 500;
            throw;
        }
        finally
        {
            Cache?.Release(ticket);
            if (body is not null) ArrayPool<byte>.Shared.Return(body);
            if (memory > 0) Metrics.RequestMetrics.Current.PhpMemory = memory;
            Metrics.RequestMetrics.Current.Finished(status, System.Diagnostics.Stopwatch.GetElapsedTime(arrived).TotalSeconds);
            if (_options.AccessLog && status != 0)
            {
                var r = context.Request;
                var target = RawTarget(context);
                _log.Request(r.Method, $"{r.Scheme}://{r.Host}{target}", target, status,
                    request?.ElapsedMilliseconds ?? 0, memory);
            }
        }
    }

    private void Record(PhpRequest request, int status)
    {
        var record = new Lifecycle.RequestRecord { Status = status };
        Fill(request, record);
        record.Body = request.Body is null ? [] : request.Body.AsSpan(0, request.BodyLength).ToArray();
        _recorder!.Record(record);
    }

    private static async Task<(byte[]?, int)> ReadBodyAsync(PipeReader reader, long? declared)
    {
        if (declared == 0) return (null, 0);
        var buffer = ArrayPool<byte>.Shared.Rent((int)Math.Clamp(declared ?? 4096, 1, int.MaxValue));
        var length = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                foreach (var segment in result.Buffer)
                {
                    if (length + segment.Length > buffer.Length)
                    {
                        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + segment.Length));
                        buffer.AsSpan(0, length).CopyTo(bigger);
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = bigger;
                    }
                    segment.Span.CopyTo(buffer.AsSpan(length));
                    length += segment.Length;
                }
                reader.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted) break;
            }
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
        if (length == 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            return (null, 0);
        }
        return (buffer, length);
    }

    private static async Task<int> AnswerAsync(HttpContext context, int status, string message)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return status;
        }
        response.StatusCode = status;
        response.ContentType = "text/plain; charset=utf-8";
        if (status == 413) response.Headers.Connection = "close";
        await response.WriteAsync(message + "\n");
        return status;
    }

    private static bool IsHopByHop(string name) =>
        name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
        || name.Equals("Keep-Alive", StringComparison.OrdinalIgnoreCase);

    /// <summary>What php-fpm sends without a Content-Type from the script: PHP's default_mimetype ("text/html") and default_charset ("UTF-8").</summary>
    internal const string DefaultContentType = "text/html; charset=UTF-8";

    private static bool MayHaveBody(int status) => status >= 200 && status != 204 && status != 304;

    private static async Task WriteAsync(HttpContext context, ResponseHead head)
    {
        var response = context.Response;
        try
        {
            response.StatusCode = head.Status;
            var isHead = HttpMethods.IsHead(context.Request.Method);
            long? declaredLength = null;
            var hasContentType = false;
            foreach (var (name, value) in head.Headers)
            {
                if (isHead && name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                    && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
                    declaredLength = n;
                if (IsHopByHop(name)) continue;
                hasContentType |= name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase);
                response.Headers.Append(name, value);
            }
            // PHP's default_mimetype and default_charset, which php-fpm sends when the script set
            // no Content-Type (Laravel's own 404 and 405 pages set none).
            if (!hasContentType && MayHaveBody(head.Status)) response.ContentType = DefaultContentType;
            if (head.File is { } file)
            {
                await using (file)
                {
                    response.ContentLength = head.FileLength;
                    if (MayHaveBody(head.Status) && !HttpMethods.IsHead(context.Request.Method))
                        await CopyRangeAsync(file, head.FileOffset, head.FileLength, response.BodyWriter, context.RequestAborted);
                }
                return;
            }
            if (head.Stream is { } stream)
            {
                await WriteStreamAsync(context, head, stream);
                return;
            }
            if (!MayHaveBody(head.Status)) return;
            if (isHead)
            {
                // RFC 9110 §9.3.2, §8.6: no content, and a Content-Length only if it is the length
                // GET would have sent. That is the app's own Content-Length (Symfony keeps it for
                // HEAD and empties the body: a download), else the body PHP produced anyway (a
                // plain worker script); an app that emptied the body without one gets none.
                var length = declaredLength ?? (head.BodyLength > 0 ? head.BodyLength : null);
                if (length is { } l) response.ContentLength = l;
                return;
            }
            response.ContentLength = head.BodyLength;
            if (head.BodyLength > 0)
                await response.BodyWriter.WriteAsync(head.Body.AsMemory(0, head.BodyLength));
        }
        finally
        {
            if (head.Body is not null) ArrayPool<byte>.Shared.Return(head.Body);
        }
    }

    private static async Task CopyRangeAsync(FileStream file, long offset, long length, PipeWriter writer, CancellationToken ct)
    {
        file.Seek(offset, SeekOrigin.Begin);
        while (length > 0)
        {
            var memory = writer.GetMemory((int)Math.Min(length, 64 * 1024));
            var n = await file.ReadAsync(memory[..(int)Math.Min(length, memory.Length)], ct);
            if (n == 0) throw new IOException("the file became shorter while it was being sent");
            writer.Advance(n);
            length -= n;
            var flush = await writer.FlushAsync(ct);
            if (flush.IsCanceled || flush.IsCompleted) return;
        }
    }

    private static async Task WriteStreamAsync(HttpContext context, ResponseHead head, System.Threading.Channels.Channel<Chunk> channel)
    {
        var response = context.Response;
        var stream = channel.Reader;
        var writer = response.BodyWriter;
        try
        {
            await response.StartAsync();
            if (head.BodyLength > 0) await writer.WriteAsync(head.Body.AsMemory(0, head.BodyLength));
            else await writer.FlushAsync();
            while (await stream.WaitToReadAsync())
            {
                while (stream.TryRead(out var chunk))
                {
                    try
                    {
                        var flush = await writer.WriteAsync(chunk.Buffer.AsMemory(0, chunk.Length));
                        if (flush.IsCanceled || flush.IsCompleted) throw new OperationCanceledException("client gone");
                    }
                    finally
                    {
                        ArrayPool<byte>.Shared.Return(chunk.Buffer);
                    }
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // PHP failed mid-stream (fatal error, timeout): cut the connection without the last
            // chunk, so the client sees an incomplete response rather than a complete-looking one.
            // Abort drops what the transport has not sent yet: give what was flushed a moment first.
            try { await writer.FlushAsync(); } catch (Exception) { }
            await Task.Delay(StreamAbortGrace);
            context.Abort();
        }
        finally
        {
            // Tell PHP to stop producing (its writes now report "client gone"), and free what is left.
            channel.Writer.TryComplete();
            while (stream.TryRead(out var rest)) ArrayPool<byte>.Shared.Return(rest.Buffer);
        }
    }

    /// <summary>Builds the take_request() envelope on the PHP thread (see the natives stub).</summary>
    public bool FillEnvelope(PhpRequest request, EnvelopeArena arena) => Fill(request, arena);

    /// <summary>Writes the envelope of <paramref name="request"/> to <paramref name="arena"/>: the PHP thread's arena, or a record (--record-errors).</summary>
    internal bool Fill<TSink>(PhpRequest request, TSink arena) where TSink : IEnvelopeSink
    {
        var context = request.Context!;
        var r = context.Request;
        var connection = context.Connection;
        var target = RawTarget(context);
        arena.SetMethod(r.Method);
        arena.SetUri(target);
        arena.SetProtocol(r.Protocol);

        foreach (var header in r.Headers)
        {
            var value = header.Key.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
                ? string.Join("; ", header.Value.ToArray())
                : header.Value.ToString();
            arena.AddHeader(header.Key, value);
        }

        var query = target.IndexOf('?') is var q and >= 0 ? target[(q + 1)..] : "";
        var https = r.IsHttps;
        var now = DateTimeOffset.UtcNow;
        var host = r.Host.Host;
        arena.AddServer("REQUEST_METHOD", r.Method);
        arena.AddServer("REQUEST_URI", target);
        arena.AddServer("QUERY_STRING", query);
        arena.AddServer("SERVER_PROTOCOL", r.Protocol);
        arena.AddServer("SERVER_SOFTWARE", "askr");
        arena.AddServer("GATEWAY_INTERFACE", "CGI/1.1");
        arena.AddServer("SERVER_NAME", string.IsNullOrEmpty(host) ? _options.Host : host);
        arena.AddServer("SERVER_ADDR", connection.LocalIpAddress?.ToString() ?? _options.Host);
        arena.AddServer("SERVER_PORT", connection.LocalPort.ToString(CultureInfo.InvariantCulture));
        arena.AddServer("REMOTE_ADDR", connection.RemoteIpAddress?.ToString() ?? "");
        arena.AddServer("REMOTE_PORT", connection.RemotePort.ToString(CultureInfo.InvariantCulture));
        arena.AddServer("REQUEST_SCHEME", https ? "https" : "http");
        if (https) arena.AddServer("HTTPS", "on");
        arena.AddServer("DOCUMENT_ROOT", _documentRoot);
        // As php-fpm behind nginx sets them for a front controller (Laravel's public/index.php).
        arena.AddServer("SCRIPT_NAME", "/index.php");
        arena.AddServer("SCRIPT_FILENAME", Path.Combine(_documentRoot, "index.php"));
        arena.AddServer("PHP_SELF", "/index.php");
        arena.AddServer("REQUEST_TIME", now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
        arena.AddServer("REQUEST_TIME_FLOAT", (now.ToUnixTimeMilliseconds() / 1000.0).ToString("0.000###", CultureInfo.InvariantCulture));
        if (r.ContentType is { } contentType) arena.AddServer("CONTENT_TYPE", contentType);
        if (request.BodyLength > 0 || r.ContentLength is not null)
            arena.AddServer("CONTENT_LENGTH", request.BodyLength.ToString(CultureInfo.InvariantCulture));
        foreach (var header in r.Headers)
        {
            if (header.Key.Equals("Content-Type", StringComparison.OrdinalIgnoreCase)
                || header.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)) continue;
            var value = header.Key.Equals("Cookie", StringComparison.OrdinalIgnoreCase)
                ? string.Join("; ", header.Value.ToArray())
                : header.Value.ToString();
            arena.AddServerFromHeader(header.Key, value);
        }
        return true;
    }

    private static string RawTarget(HttpContext context)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        return string.IsNullOrEmpty(raw) ? context.Request.Path + context.Request.QueryString : raw;
    }
}
