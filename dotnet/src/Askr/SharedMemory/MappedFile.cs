using System.IO.MemoryMappedFiles;

namespace Askr.SharedMemory;

/// <summary>
/// A file mapped read-write into this process, shared with the node's other processes (the
/// table store, the task board; both under /dev/shm). <see cref="Base"/> points at byte 0 for
/// the mapping's life. The process that created the file (<see cref="Create"/>) deletes it on
/// dispose; the ones that opened it only unmap it.
/// </summary>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly bool _owner;

    private MappedFile(string path, MemoryMappedFile file, bool owner)
    {
        Path = path;
        _file = file;
        _owner = owner;
        _view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.ReadWrite);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        Base = p + _view.PointerOffset;
    }

    public string Path { get; }

    /// <summary>Byte 0 of the mapping.</summary>
    public byte* Base { get; }

    /// <summary>Creates the file with <paramref name="bytes"/> zero bytes (it must not exist) and maps it.</summary>
    public static MappedFile Create(string path, long bytes) =>
        new(path, MemoryMappedFile.CreateFromFile(path, FileMode.CreateNew, null, bytes, MemoryMappedFileAccess.ReadWrite), owner: true);

    /// <summary>Maps an existing file, whole.</summary>
    public static MappedFile Open(string path) =>
        new(path, MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.ReadWrite), owner: false);

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
        if (_owner)
        {
            try { File.Delete(Path); } catch (IOException) { }
        }
    }
}
