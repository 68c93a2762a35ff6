using System.Runtime.InteropServices;

namespace Askr.SharedMemory;

/// <summary>
/// Linux futex(2) on a word of a shared mapping, through libc's syscall(2) (glibc has no futex
/// wrapper). The operations are the shared ones (no FUTEX_PRIVATE_FLAG): the word lives in a
/// /dev/shm file mapped by several processes, and a private futex is keyed by the process's
/// address space, so a wake in one process would not reach a sleeper in another.
/// </summary>
internal static unsafe partial class Futex
{
    private const int FutexWait = 0, FutexWake = 1;
    private const int EINTR = 4, EAGAIN = 11, ETIMEDOUT = 110;

    /// <summary>SYS_futex: 202 on x86-64, 98 on arm64 (asm/unistd.h).</summary>
    private static readonly long s_sysFutex = RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 202,
        Architecture.Arm64 => 98,
        var other => throw new PlatformNotSupportedException($"futex: no syscall number for {other}"),
    };

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    /// <summary>
    /// FUTEX_WAIT: sleeps while <c>*word == expected</c>, at most <paramref name="timeoutMilliseconds"/>.
    /// Returns at once if the word already differs (EAGAIN); may return early (a wake, a signal
    /// or spuriously), so callers re-read the word. Throws only on an unexpected errno (EFAULT, ENOSYS).
    /// </summary>
    public static void Wait(int* word, int expected, int timeoutMilliseconds)
    {
        var timeout = new Timespec { Seconds = timeoutMilliseconds / 1000, Nanoseconds = timeoutMilliseconds % 1000 * 1_000_000L };
        if (Syscall(s_sysFutex, word, FutexWait, expected, &timeout, null, 0) == 0) return;
        var errno = Marshal.GetLastPInvokeError();
        if (errno is EAGAIN or EINTR or ETIMEDOUT) return;
        throw new InvalidOperationException($"futex wait failed: errno {errno}");
    }

    /// <summary>FUTEX_WAKE: wakes every process and thread sleeping on <paramref name="word"/>; returns how many woke.</summary>
    public static int WakeAll(int* word) => (int)Syscall(s_sysFutex, word, FutexWake, int.MaxValue, null, null, 0);

    /// <summary>FUTEX_WAKE of one sleeper (a lock handed on); returns how many woke.</summary>
    public static int WakeOne(int* word) => (int)Syscall(s_sysFutex, word, FutexWake, 1, null, null, 0);

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial long Syscall(long number, int* word, int op, int value, Timespec* timeout, int* word2, int value3);
}
