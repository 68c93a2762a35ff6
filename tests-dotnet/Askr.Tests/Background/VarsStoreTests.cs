using Askr.Background;

namespace Askr.Tests.Background;

/// <summary>The background workers' shared-memory snapshots (VarsStore), in one process.</summary>
public sealed class VarsStoreTests : IDisposable
{
    private readonly string _path = Path.Combine(Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath(), $"askr-test-{Guid.NewGuid():N}.vars");
    private readonly VarsStore _store;

    public VarsStoreTests() => _store = VarsStore.Create(_path, [("flags", 0), ("reports", VarsStore.FlagLazy)], catchAllCap: 2, capacity: 4096);

    public void Dispose()
    {
        _store.Dispose();
        Assert.False(File.Exists(_path));
    }

    private static (VarsRead Read, long Generation, byte[] Bytes) Read(VarsStore store, int slot, long known)
    {
        var read = store.Read(slot, known, out var generation, out byte[] bytes);
        return (read, generation, bytes);
    }

    [Fact]
    public void Declared_names_have_slots_and_a_lazy_one_is_declared_but_not_started()
    {
        Assert.Equal(0, _store.Find("flags"));
        Assert.Equal(1, _store.Find("reports"));
        Assert.Equal(-1, _store.Find("other"));
        Assert.Equal(VarsSlotState.Declared, _store.State(1));
        Assert.Equal(VarsStore.FlagLazy, _store.Flags(1));
        _store.StartAttempt(0);
        Assert.Equal(VarsSlotState.Started, _store.State(0));
        Assert.Equal(1, _store.Attempts(0));
    }

    [Fact]
    public void A_snapshot_is_published_with_the_next_generation_and_a_reader_that_has_it_copies_nothing()
    {
        Assert.Equal(VarsRead.NotPublished, Read(_store, 0, 0).Read);
        Assert.True(_store.Write(0, "a:1:{i:0;i:1;}"u8));
        var first = Read(_store, 0, 0);
        Assert.Equal((VarsRead.Ok, 1L), (first.Read, first.Generation));
        Assert.Equal("a:1:{i:0;i:1;}"u8.ToArray(), first.Bytes);
        Assert.Equal(VarsRead.Unchanged, Read(_store, 0, 1).Read);

        // Another process (a second mapping) sees each generation; both buffers take turns.
        using var other = VarsStore.Open(_path);
        for (var g = 2; g <= 5; g++)
        {
            var bytes = System.Text.Encoding.ASCII.GetBytes($"s:1:\"{g}\";");
            Assert.True(_store.Write(0, bytes));
            var seen = Read(other, other.Find("flags"), g - 1);
            Assert.Equal((VarsRead.Ok, (long)g), (seen.Read, seen.Generation));
            Assert.Equal(bytes, seen.Bytes);
        }
    }

    [Fact]
    public void An_identical_snapshot_is_not_written_and_keeps_its_generation()
    {
        Assert.True(_store.Write(0, "i:7;"u8));
        Assert.False(_store.Write(0, "i:7;"u8));
        Assert.Equal(1, _store.Generation(0));
        Assert.True(_store.Write(0, "i:8;"u8));
        Assert.Equal(2, _store.Generation(0));
    }

    [Fact]
    public void Catch_all_names_take_free_slots_up_to_the_cap()
    {
        Assert.Equal(2, _store.CatchAllCap);
        Assert.Equal(0, _store.CatchAllInUse());
        var free = _store.FreeSlot();
        _store.Name(free, "dyn-1", VarsStore.FlagCatchAll | VarsStore.FlagLazy);
        _store.Name(_store.FreeSlot(), "dyn-2", VarsStore.FlagCatchAll | VarsStore.FlagLazy);
        Assert.Equal(2, _store.CatchAllInUse());
        Assert.Equal(-1, _store.FreeSlot());
        Assert.Equal("dyn-1", _store.NameOf(free));
        using var other = VarsStore.Open(_path);
        Assert.Equal(free, other.Find("dyn-1"));
    }

    [Fact]
    public void The_last_error_of_an_attempt_and_its_exit_are_kept_for_the_ensure_report()
    {
        _store.StartAttempt(0);
        _store.RecordError(0, "Uncaught RuntimeException: down", "/app/w.php", 12);
        _store.EndAttempt(0, pid: 1234, exitStatus: 255, failures: 1);
        Assert.Equal(("Uncaught RuntimeException: down", "/app/w.php", 12L), _store.LastError(0));
        Assert.Equal(255, _store.ExitStatus(0));
        Assert.Equal(1, _store.Failures(0));
    }

    [Fact]
    public void A_file_that_is_not_a_vars_file_is_refused()
    {
        var path = _path + ".other";
        File.WriteAllBytes(path, new byte[8192]);
        try
        {
            Assert.Throws<InvalidDataException>(() => VarsStore.Open(path));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
