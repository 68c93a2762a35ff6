using System.Reflection;
using System.Runtime.InteropServices;

namespace Askr.Php;

/// <summary>
/// Finds libaskrshim.so: <c>ASKR_SHIM</c> (a file path) if set, else next to the askr binary,
/// else the dynamic loader's usual search.
/// </summary>
internal static class NativeLoader
{
    private static int s_registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref s_registered, 1) != 0) return;
        NativeLibrary.SetDllImportResolver(typeof(NativeLoader).Assembly, Resolve);
    }

    public static string? ShimPath()
    {
        var fromEnv = Environment.GetEnvironmentVariable("ASKR_SHIM");
        if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
        var local = Path.Combine(AppContext.BaseDirectory, "libaskrshim.so");
        return File.Exists(local) ? local : null;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != ShimInterop.Library) return IntPtr.Zero;
        var file = ShimPath();
        if (file is not null && NativeLibrary.TryLoad(file, out var handle)) return handle;
        return IntPtr.Zero;
    }
}
