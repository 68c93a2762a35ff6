using System.Text;
using Askr.Tables;
using BenchmarkDotNet.Attributes;

namespace Askr.Benchmarks;

/// <summary>
/// The shared table's get, set and incr from C#, over 1000 keys of a table shaped like
/// bench/tables/run.sh's (s string:64, n int, f float), in a store mapped from /dev/shm: what one
/// table native costs on the runtime's side, without PHP and the shim.
/// </summary>
[MemoryDiagnoser]
public class SharedTableBenchmarks
{
    private const int Keys = 1000;
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-bench-{Environment.ProcessId}-{Guid.NewGuid():N}.store");
    private TableStore _store = null!;
    private SharedTable _table = null!;
    private RowBuffer _row = null!;
    private byte[][] _keys = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var schemas = TableSchema.ParseConfig("""{"tables": {"bench:1100": {"s": "string:64", "n": "int", "f": "float"}}}""");
        _store = TableStore.Create(_path, schemas, 1);
        _table = _store.Find("bench")!;
        _row = new RowBuffer(_table.Schema);
        _row.SetString(0, Encoding.UTF8.GetBytes("a value of forty-one bytes, as the bench!"));
        _row.SetInt(1, 7);
        _row.SetFloat(2, 1.5);
        _keys = Enumerable.Range(0, Keys).Select(i => Encoding.UTF8.GetBytes($"key:{i:D6}")).ToArray();
        foreach (var key in _keys) _table.Set(key, _row);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _row.Dispose();
        _store.Dispose();
        File.Delete(_path);
    }

    private byte[] NextKey() => _keys[_next = (_next + 1) % Keys];

    [Benchmark] public bool Get() => _table.Get(NextKey(), _row);
    [Benchmark] public WriteStatus Set() => _table.Set(NextKey(), _row);
    [Benchmark] public WriteStatus Incr() => _table.Increment(NextKey(), 1, 1L, out _);
}
