using BenchmarkDotNet.Running;

namespace Askr.Benchmarks;

/// <summary>`dotnet run -c Release -- --filter '*'` (bench/micro/run.sh); BenchmarkDotNet's own options apply.</summary>
public static class Program
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
}
