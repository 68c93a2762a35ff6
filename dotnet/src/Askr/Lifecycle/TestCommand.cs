using System.CommandLine;
using System.Diagnostics;

namespace Askr.Lifecycle;

/// <summary>
/// <c>askr test [--app PATH] [--parallel N] [PATH ...]</c> (docs/lifecycle.md): a test runner that
/// boots the app once in a parent PHP CLI process and forks a child per test file (pcntl), N in
/// parallel, PHPUnit on each. The runner is a PHP script (php/octane-driver/bin/askr-test.php),
/// built into this binary as a resource and written to a temporary file for the run: forking a
/// process that hosts the .NET runtime is not safe, a plain PHP CLI is. Exit status: the runner's
/// (0 all passed, 1 a file failed, 2 bad arguments).
/// </summary>
internal static class TestCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "Test files or directories (default: the app's tests/).", Arity = ArgumentArity.ZeroOrMore };
        var app = new Option<string?>("--app") { Description = "The application's base path (default: the current directory)." };
        var parallel = new Option<int>("--parallel") { Description = "Test files run at once (default: the number of cores).", DefaultValueFactory = _ => Environment.ProcessorCount };
        var configuration = new Option<string?>("--configuration", "-c") { Description = "PHPUnit's configuration file (default: the app's phpunit.xml)." };
        var bootstrap = new Option<string?>("--bootstrap") { Description = "A PHP file the parent loads before it forks (after the app's vendor/autoload.php)." };
        var php = new Option<string>("--php") { Description = "The PHP CLI to run (it needs pcntl).", DefaultValueFactory = _ => "php" };
        var command = new Command("test", "Run an app's PHPUnit tests: boot once, fork a child per test file, N in parallel.")
        {
            paths, app, parallel, configuration, bootstrap, php,
        };
        command.SetAction(parse =>
        {
            var arguments = new List<string>();
            if (parse.GetValue(app) is { } a) arguments.AddRange(["--app", a]);
            arguments.AddRange(["--parallel", parse.GetValue(parallel).ToString()]);
            if (parse.GetValue(configuration) is { } c) arguments.AddRange(["--configuration", c]);
            if (parse.GetValue(bootstrap) is { } b) arguments.AddRange(["--bootstrap", b]);
            arguments.AddRange(parse.GetValue(paths) ?? []);
            return Run(parse.GetValue(php)!, arguments);
        });
        return command;
    }

    private static int Run(string php, List<string> arguments)
    {
        var script = Path.Combine(Path.GetTempPath(), $"askr-test-{Environment.ProcessId}-{Guid.NewGuid():N}.php");
        try
        {
            using (var resource = typeof(TestCommand).Assembly.GetManifestResourceStream("askr-test.php")
                ?? throw new InvalidOperationException("the runner script is not built into this askr binary"))
            using (var file = File.Create(script))
                resource.CopyTo(file);
            var psi = new ProcessStartInfo(php) { UseShellExecute = false };
            psi.ArgumentList.Add(script);
            foreach (var a in arguments) psi.ArgumentList.Add(a);
            using var process = Process.Start(psi)!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Console.Error.WriteLine($"askr test: cannot run {php}: {e.Message}");
            return 2;
        }
        finally
        {
            File.Delete(script);
        }
    }
}
