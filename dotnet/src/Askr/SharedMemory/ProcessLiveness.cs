using System.Runtime.InteropServices;

namespace Askr.SharedMemory;

/// <summary>
/// Whether the process that holds a lock word of a shared mapping still exists: kill(pid, 0)
/// (POSIX) fails with ESRCH only when there is no such process (EPERM means it exists).
/// </summary>
internal static partial class ProcessLiveness
{
    private const int ESRCH = 3;

    public static bool IsAlive(int pid) => Kill(pid, 0) == 0 || Marshal.GetLastPInvokeError() != ESRCH;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
