using Askr.Php;
using Askr.Tests.Support;

namespace Askr.Tests.Php;

/// <summary>
/// The C ⇄ C# seam's layout: the shim that scripts/build.sh built exports every struct size,
/// field offset and constant of askr_shim.h and constants.json (askr_shim_contract); the runtime's
/// mirror (ShimInterop, Marshal.SizeOf/OffsetOf, the generated constants) must agree entry for
/// entry. This replaces the ABI number that used to be bumped by hand.
/// </summary>
public sealed class ShimContractTests
{
    static ShimContractTests()
    {
        // The test process loads the same libaskrshim.so the askr binary runs with.
        Environment.SetEnvironmentVariable("ASKR_SHIM", Path.Combine(Path.GetDirectoryName(AskrServer.Binary)!, "libaskrshim.so"));
        NativeLoader.Register();
    }

    [Fact]
    public void The_shims_structs_fields_and_constants_are_the_runtimes()
    {
        var shim = ShimContract.Shim();
        Assert.Contains(shim, e => e.Name == "askr_callbacks" && e.Kind == ShimInterop.ContractStruct);
        Assert.Contains(shim, e => e.Name == "askr_envelope.server_count" && e.Kind == ShimInterop.ContractField);
        Assert.Contains(shim, e => e.Name == "ASKR_TABLE_LIMIT_KEY_BYTES" && e.Value == 63);
        var differences = ShimContract.Differences();
        Assert.True(differences.Count == 0, string.Join("\n", differences));
    }

    [Fact]
    public void Every_struct_of_the_mirror_is_one_the_shim_exports()
    {
        var structs = ShimContract.Shim().Where(e => e.Kind == ShimInterop.ContractStruct).Select(e => e.Name).ToHashSet();
        var mirrored = typeof(ShimInterop).GetNestedTypes().Where(t => t.IsValueType && !t.IsEnum).Select(ShimContract.CName);
        Assert.All(mirrored, name => Assert.Contains(name, structs));
    }

    [Fact]
    public void A_field_only_one_side_has_a_moved_offset_and_a_changed_constant_are_each_reported()
    {
        var runtime = ShimContract.Runtime();
        var shim = runtime
            .Where(e => e.Name != "askr_callbacks.dispatch")
            .Select(e => e.Name == "askr_envelope.body" ? e with { Value = e.Value + 8 } : e)
            .Select(e => e.Name == "ASKR_TASK_TIMEOUT" ? e with { Value = 7 } : e)
            .Append(("askr_callbacks.not_a_callback", ShimInterop.ContractField, 256L, 8))
            .ToList();

        var differences = ShimContract.Compare(shim, runtime);

        Assert.Equal(4, differences.Count);
        Assert.Contains("askr_envelope.body: offset", differences[0]);
        Assert.Contains(differences, d => d.StartsWith("ASKR_TASK_TIMEOUT: value 7 in the shim, 2 in the runtime"));
        Assert.Contains(differences, d => d.StartsWith("askr_callbacks.not_a_callback: a field of the shim that the runtime does not have"));
        Assert.Contains(differences, d => d.StartsWith("askr_callbacks.dispatch: a field of the runtime that the shim does not have"));
    }
}
