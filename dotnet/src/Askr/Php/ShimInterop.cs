using System.Runtime.InteropServices;

namespace Askr.Php;

/// <summary>
/// The C ABI of native/shim/askr_shim.h, mirrored field for field. Change both together and
/// bump <see cref="Abi"/> with <c>ASKR_SHIM_ABI</c>.
/// </summary>
internal static unsafe partial class ShimInterop
{
    public const string Library = "askrshim";
    public const int Abi = 4;

    public const int TakeRequest = 1;
    public const int TakeTimeout = 0;
    public const int TakeShutdown = -1;

    public const int SendOk = 0;
    public const int SendClientGone = 1;
    public const int SendNoRequest = -1;
    public const int SendFileError = -2;
    public const int SendFailed = -3;

    public const int SendFlagStream = 1;

    public const int RunOk = 0;
    public const int RunBailout = 1;
    public const int RunStartupFailed = 2;

    /// <summary>A byte string owned by the other side; not NUL-terminated.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Str
    {
        public byte* Ptr;
        public long Len;
    }

    /// <summary>One request handed to PHP; every pointer stays valid until the next take callback.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Envelope
    {
        public long Id;
        public Str Method;
        public Str Uri;
        public Str Protocol;
        public Str Body;
        public Str* Headers;
        public long HeaderCount;
        public Str* Server;
        public long ServerCount;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Callbacks
    {
        public delegate* unmanaged<long, Envelope*, int> Take;
        public delegate* unmanaged<int, Str*, long, byte*, long, int, int> Send;
        public delegate* unmanaged<byte*, long, int, int> Chunk;
        public delegate* unmanaged<int, Str*, long, byte*, long, long, long, int> File;
        public delegate* unmanaged<byte*, long, void> Output;
        public delegate* unmanaged<int, byte*, long, void> Log;
        public delegate* unmanaged<byte*, long, TableInfo*, int> TableOpen;
        public delegate* unmanaged<long, byte*, long, byte**, int> TableGet;
        public delegate* unmanaged<long, byte*, long, byte*, ulong, int> TableSet;
        public delegate* unmanaged<long, byte*, long, int> TableDelete;
        public delegate* unmanaged<long, byte*, long, int> TableExists;
        public delegate* unmanaged<long, byte*, long, long, int, long, double, long*, double*, int> TableIncrement;
        public delegate* unmanaged<long, long> TableCount;
        public delegate* unmanaged<long, long, long, Scan*, int> TableScan;
        public delegate* unmanaged<Str*, long, long, int, TaskResult**, int> Dispatch;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TaskResult
    {
        public int Status;
        public int Reserved;
        public Str Data;
    }

    public const int TableOk = 0;
    public const int TableFound = 1;
    public const int TableMissing = 0;
    public const int TableNoTable = -1;
    public const int TableNoStore = -2;

    [StructLayout(LayoutKind.Sequential)]
    public struct Column
    {
        public Str Name;
        public int Type;
        public int Size;
        public int Offset;
        public int Reserved;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TableInfo
    {
        public long Handle;
        public long Rows;
        public long ColumnCount;
        public Column* Columns;
        public long ColumnBytes;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Scan
    {
        public long NextCursor;
        public long Count;
        public Str* Keys;
        public byte* Areas;
    }

    [LibraryImport(Library, EntryPoint = "askr_shim_abi")]
    public static partial int ShimAbi();

    [LibraryImport(Library, EntryPoint = "askr_php_startup", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Startup(Callbacks* callbacks, string sapiName, string extraIni);

    [LibraryImport(Library, EntryPoint = "askr_php_run", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Run(string scriptPath, out int exitStatus);

    [LibraryImport(Library, EntryPoint = "askr_php_shutdown")]
    public static partial void Shutdown();

    [LibraryImport(Library, EntryPoint = "askr_php_interrupt")]
    public static partial void Interrupt(long seconds);

    [LibraryImport(Library, EntryPoint = "askr_php_memory_usage")]
    public static partial long MemoryUsage();
}
