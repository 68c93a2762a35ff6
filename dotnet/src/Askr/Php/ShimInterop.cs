using System.Runtime.InteropServices;

namespace Askr.Php;

/// <summary>
/// The C ABI of native/shim/askr_shim.h, mirrored field for field: each struct here is the C
/// struct <c>askr_</c> + its name in snake case, each field the C field in PascalCase.
/// <see cref="ShimContract"/> compares both with the shim's own sizes, offsets and constants, so
/// a field added on one side only is caught (at start-up and by ShimContractTests). The
/// constants (<c>TakeRequest</c>, <c>TaskNames</c>, ...) are generated from
/// native/shim/constants.json into ShimInterop.Constants.g.cs at the build.
/// </summary>
internal static unsafe partial class ShimInterop
{
    public const string Library = "askrshim";

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
        public delegate* unmanaged<long, byte*, long, int> TableDel;
        public delegate* unmanaged<long, byte*, long, int> TableExists;
        public delegate* unmanaged<long, byte*, long, long, int, long, double, long*, double*, int> TableIncr;
        public delegate* unmanaged<long, long> TableCount;
        public delegate* unmanaged<long, long, long, Scan*, int> TableScan;
        public delegate* unmanaged<Str**, long*, int> TableNames;
        public delegate* unmanaged<Str*, long, long, int, TaskResult**, int> Dispatch;
        public delegate* unmanaged<long, TakenTask*, int> TakeTask;
        public delegate* unmanaged<int, byte*, long, int> SendTaskResult;
        public delegate* unmanaged<int, Str*, long, int> CachePurge;
        public delegate* unmanaged<Str*, long, Str*, Str*, Str*, int> Broadcast;
        public delegate* unmanaged<int> AwaitSent;
        public delegate* unmanaged<byte*, long, Str*, int> SetVars;
        public delegate* unmanaged<byte*, long, long, long*, Str*, Str*, int> GetVars;
        public delegate* unmanaged<Str*, int> ShouldStop;
        public delegate* unmanaged<int*, Str*, int> WorkerHandle;
        public delegate* unmanaged<Str*, long, long, Str*, int> EnsureBackground;
    }

    /// <summary>The names of the callbacks left null in <paramref name="callbacks"/>: the shim would jump to address 0.</summary>
    public static List<string> NullCallbacks(Callbacks callbacks)
    {
        var missing = new List<string>();
        var start = (byte*)&callbacks;
        foreach (var field in typeof(Callbacks).GetFields())
        {
            if (*(nint*)(start + Marshal.OffsetOf<Callbacks>(field.Name)) == 0) missing.Add(field.Name);
        }
        return missing;
    }

    /// <summary>A task or tick handed to a task worker's script by take_task(); valid until the next take.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct TakenTask
    {
        public long Id;
        public int Kind;
        public int Reserved;
        public Str Payload;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct TaskResult
    {
        public int Status;
        public int Reserved;
        public Str Data;
    }

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
        public byte* Memory;
        public long BucketCount;
        public long RowBytes;
        public long* Clock;
        public int* Replicated;
        public ulong NodeId;
        public long ClockOffsetMs;
    }

    [StructLayout(LayoutKind.Sequential)]
    public struct Scan
    {
        public long NextCursor;
        public long Count;
        public Str* Keys;
        public byte* Areas;
    }

    /// <summary>One entry of the shim's contract (askr_contract_entry): a struct's size, a field's offset and size, or a constant.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct ContractEntry
    {
        public byte* Name;
        public long Value;
        public int Kind;
        public int Size;
    }

    public const int ContractStruct = 1;
    public const int ContractField = 2;
    public const int ContractConstant = 3;

    [LibraryImport(Library, EntryPoint = "askr_shim_contract")]
    public static partial ContractEntry* Contract(out long count);

    [LibraryImport(Library, EntryPoint = "askr_php_startup", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Startup(Callbacks* callbacks, string sapiName, string extraIni);

    [LibraryImport(Library, EntryPoint = "askr_php_run", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Run(string scriptPath, out int exitStatus);

    [LibraryImport(Library, EntryPoint = "askr_php_shutdown")]
    public static partial void Shutdown();

    [LibraryImport(Library, EntryPoint = "askr_php_interrupt")]
    public static partial void Interrupt(long seconds);

    [LibraryImport(Library, EntryPoint = "askr_php_last_error")]
    public static partial int LastError(out Str message, out Str file, out long line);

    [LibraryImport(Library, EntryPoint = "askr_php_memory_usage")]
    public static partial long MemoryUsage();
}
