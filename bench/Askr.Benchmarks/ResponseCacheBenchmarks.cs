using System.Text;
using Askr.Logging;
using Askr.ResponseCache;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Askr.Benchmarks;

/// <summary>
/// A response cache HIT on the runtime's side (issue 11: askr HIT vs Varnish HIT): the store's
/// look-up alone, and the whole <c>ResponseCacheHandler.BeforeAsync</c> of a hit (key, look-up,
/// tag check, headers, body) into a reused <see cref="DefaultHttpContext"/> whose body goes to
/// <see cref="Stream.Null"/>, so what is allocated is the hit path's own. The entry is a 4,096-byte
/// body with three headers, as bench/response-cache/run.sh's /page.
/// </summary>
[MemoryDiagnoser]
public class ResponseCacheBenchmarks
{
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.rcache");
    private CacheStore _store = null!;
    private ResponseCacheHandler _handler = null!;
    private DefaultHttpContext _context = null!;
    private const string Key = "127.0.0.1:8080\n/page";

    [GlobalSetup]
    public void Setup()
    {
        _store = CacheStore.Create(_path, 16 * 1024 * 1024, 8 * 1024 * 1024);
        _handler = new ResponseCacheHandler(_store, [], 30, new LogWriter(LogFormat.Text, LogLevel.Error));
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var slot = CacheStore.TagSlot("url:/page");
        var payload = CachedResponse.Encode([(slot, _store.TagGeneration(slot))], 200,
            [new("Content-Type", "text/plain"), new("ETag", "\"abc\""), new("Cache-Control", "public, max-age=60")], Encoding.ASCII.GetBytes(new string('x', 4096)));
        if (!_store.Put(Key, CacheEntryKind.Response, payload, now, now + 3_600_000, 0, 0)) throw new InvalidOperationException("put failed");
        _context = new DefaultHttpContext();
        _context.Request.Method = "GET";
        _context.Request.Host = new HostString("127.0.0.1:8080");
        _context.Request.Path = "/page";
        _context.Features.Get<IHttpRequestFeature>()!.RawTarget = "/page";
        _context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.Dispose();
        File.Delete(_path);
    }

    [Benchmark]
    public int StoreGet()
    {
        var entry = _store.Get(Key)!;
        var length = entry.BlobLength;
        entry.Return();
        return length;
    }

    [Benchmark]
    public int HandlerHit()
    {
        _context.Response.Headers.Clear();
        var ticket = _handler.BeforeAsync(_context).GetAwaiter().GetResult();
        // What Kestrel does when the request ends: flush what the hit wrote into the pipe.
        _context.Response.BodyWriter.FlushAsync().GetAwaiter().GetResult();
        return ticket!.Status;
    }
}
