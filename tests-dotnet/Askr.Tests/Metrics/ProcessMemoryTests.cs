using Askr.Supervision;
using Xunit;

namespace Askr.Tests.Metrics;

public sealed class ProcessMemoryTests
{
    [Fact]
    public void Parses_smaps_rollup_in_kibibytes_and_leaves_missing_fields_zero()
    {
        const string text = """
            55d0c0a00000-7ffd8e5fe000 ---p 00000000 00:00 0                          [rollup]
            Rss:              118784 kB
            Pss:               96051 kB
            Pss_Anon:          38297 kB
            Pss_File:          44236 kB
            Shared_Clean:      23000 kB
            """;
        var m = ProcessMemory.Parse(text);
        Assert.Equal(118784L * 1024, m.RssBytes);
        Assert.Equal(96051L * 1024, m.PssBytes);
        Assert.Equal(38297L * 1024, m.PssAnonBytes);
        Assert.Equal(44236L * 1024, m.PssFileBytes);
        Assert.Equal(0, m.PssShmemBytes);
    }

    [Fact]
    public void Reads_this_process_with_pss_at_most_rss_and_a_gone_process_as_zero()
    {
        var self = ProcessMemory.Read(Environment.ProcessId);
        Assert.InRange(self.PssBytes, 1, self.RssBytes);
        Assert.Equal(default, ProcessMemory.Read(int.MaxValue));
    }
}
