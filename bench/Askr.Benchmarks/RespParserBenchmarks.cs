using System.Text;
using Askr.Resp;
using BenchmarkDotNet.Attributes;

namespace Askr.Benchmarks;

/// <summary>
/// RespParser.TryParseCommand over a pipelined buffer of 16 commands, as redis-benchmark -P 16
/// sends them (bench/resp/run.sh): SET key value, GET key, HSET key field value. Per command.
/// </summary>
[MemoryDiagnoser]
public class RespParserBenchmarks
{
    private readonly RespArgs _args = new();
    private byte[] _set = [];
    private byte[] _get = [];
    private byte[] _hset = [];

    [GlobalSetup]
    public void Setup()
    {
        static byte[] Pipeline(string command) => Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat(command, 16)));
        _set = Pipeline("*3\r\n$3\r\nSET\r\n$16\r\nkey:000000001234\r\n$3\r\nxxx\r\n");
        _get = Pipeline("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000001234\r\n");
        _hset = Pipeline("*4\r\n$4\r\nHSET\r\n$14\r\nbench:00001234\r\n$4\r\nname\r\n$32\r\nxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\n");
    }

    private int ParseAll(byte[] buffer)
    {
        var span = buffer.AsSpan();
        var commands = 0;
        while (!span.IsEmpty)
        {
            if (RespParser.TryParseCommand(span, RespLimits.Default, _args, out var consumed, out _, out _) != RespParseStatus.Complete)
                throw new InvalidOperationException("the benchmark's input does not parse");
            span = span[consumed..];
            commands++;
        }
        return commands;
    }

    [Benchmark(OperationsPerInvoke = 16)] public int Set() => ParseAll(_set);
    [Benchmark(OperationsPerInvoke = 16)] public int Get() => ParseAll(_get);
    [Benchmark(OperationsPerInvoke = 16)] public int HSet() => ParseAll(_hset);
}
