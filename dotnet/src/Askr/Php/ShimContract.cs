using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;

namespace Askr.Php;

/// <summary>
/// Compares the shim this process loaded with the runtime's view of it: every struct of
/// askr_shim.h (size), every field (offset and size) and every constant of constants.json, as
/// the shim exports them (<c>askr_shim_contract</c>) against <see cref="ShimInterop"/>'s mirror
/// (Marshal.SizeOf / OffsetOf) and generated constants. A shim built from another askr_shim.h or
/// constants.json than the runtime differs somewhere, and would corrupt memory instead of failing:
/// the PHP thread and <c>askr doctor</c> refuse it, and ShimContractTests pins it down in CI.
/// </summary>
internal static unsafe class ShimContract
{
    /// <summary>One line per difference ("askr_callbacks.dispatch: offset 112 in the shim, 120 here"); empty when they agree.</summary>
    public static IReadOnlyList<string> Differences() => Compare(Shim(), Runtime());

    /// <summary>The contract as the loaded shim exports it, in its order: (name, kind, value, size).</summary>
    public static List<(string Name, int Kind, long Value, int Size)> Shim()
    {
        var entries = ShimInterop.Contract(out var count);
        var list = new List<(string, int, long, int)>((int)count);
        for (var i = 0; i < count; i++)
        {
            var e = entries[i];
            list.Add((Marshal.PtrToStringUTF8((nint)e.Name) ?? "", e.Kind, e.Value, e.Size));
        }
        return list;
    }

    /// <summary>The same, as this runtime was compiled: ShimInterop's structs and constants.</summary>
    public static List<(string Name, int Kind, long Value, int Size)> Runtime()
    {
        var list = new List<(string, int, long, int)>();
        var structs = typeof(ShimInterop).GetNestedTypes(BindingFlags.Public | BindingFlags.NonPublic)
            .Where(t => t.IsValueType && !t.IsEnum && t.StructLayoutAttribute?.Value == LayoutKind.Sequential)
            .OrderBy(t => t.MetadataToken);
        foreach (var type in structs)
        {
            var c = CName(type);
            list.Add((c, ShimInterop.ContractStruct, Marshal.SizeOf(type), 0));
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic).OrderBy(f => f.MetadataToken))
                list.Add(($"{c}.{Snake(field.Name)}", ShimInterop.ContractField, Marshal.OffsetOf(type, field.Name), SizeOf(field.FieldType)));
        }
        foreach (var (name, value) in ShimInterop.Constants)
            list.Add((name, ShimInterop.ContractConstant, value, 0));
        return list;
    }

    /// <summary>The C name of a mirrored struct: <c>TableInfo</c> is <c>askr_table_info</c>.</summary>
    public static string CName(Type type) => "askr_" + Snake(type.Name);

    private static string Snake(string pascal)
    {
        var b = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i])) b.Append('_');
            b.Append(char.ToLowerInvariant(pascal[i]));
        }
        return b.ToString();
    }

    private static int SizeOf(Type type) =>
        type.IsPointer || type.IsFunctionPointer || type.IsUnmanagedFunctionPointer || type == typeof(nint) || type == typeof(nuint)
            ? IntPtr.Size
            : Marshal.SizeOf(type);

    private static string Kind(int kind) => kind switch
    {
        ShimInterop.ContractStruct => "struct",
        ShimInterop.ContractField => "field",
        ShimInterop.ContractConstant => "constant",
        _ => $"kind {kind}",
    };

    public static IReadOnlyList<string> Compare(
        IReadOnlyList<(string Name, int Kind, long Value, int Size)> shim,
        IReadOnlyList<(string Name, int Kind, long Value, int Size)> runtime)
    {
        var differences = new List<string>();
        var mine = runtime.ToDictionary(e => e.Name);
        var theirs = shim.ToDictionary(e => e.Name);
        foreach (var s in shim)
        {
            if (!mine.TryGetValue(s.Name, out var r))
            {
                differences.Add($"{s.Name}: a {Kind(s.Kind)} of the shim that the runtime does not have (ShimInterop, constants.json)");
                continue;
            }
            var what = s.Kind switch
            {
                ShimInterop.ContractStruct => "size",
                ShimInterop.ContractField => "offset",
                _ => "value",
            };
            if (s.Kind != r.Kind) differences.Add($"{s.Name}: a {Kind(s.Kind)} in the shim, a {Kind(r.Kind)} in the runtime");
            else if (s.Value != r.Value) differences.Add($"{s.Name}: {what} {s.Value} in the shim, {r.Value} in the runtime");
            else if (s.Size != r.Size) differences.Add($"{s.Name}: size {s.Size} in the shim, {r.Size} in the runtime");
        }
        foreach (var r in runtime)
        {
            if (!theirs.ContainsKey(r.Name))
                differences.Add($"{r.Name}: a {Kind(r.Kind)} of the runtime that the shim does not have (askr_shim.h, constants.json)");
        }
        // Fields in another order with the same offsets cannot happen; a different order of
        // structs or constants does not matter.
        return differences;
    }
}
