using System.Buffers.Text;

namespace Askr.Resp;

/// <summary>Number parsing with Redis' rules (util.c: string2ll, string2ld).</summary>
internal static class RespNumbers
{
    /// <summary>
    /// A signed 64-bit decimal integer: optional '-', digits, no '+', no blanks, no leading zeros
    /// (so "01" and "-0" are refused, as Redis refuses them), no overflow.
    /// </summary>
    public static bool TryParseInt64(ReadOnlySpan<byte> text, out long value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 20) return false;
        var negative = text[0] == '-';
        var digits = negative ? text[1..] : text;
        if (digits.IsEmpty || digits[0] == '0' && (digits.Length > 1 || negative)) return false;
        ulong magnitude = 0;
        foreach (var b in digits)
        {
            var d = (uint)(b - '0');
            if (d > 9) return false;
            if (magnitude > (ulong.MaxValue - d) / 10) return false;
            magnitude = magnitude * 10 + d;
        }
        if (negative)
        {
            if (magnitude > (ulong)long.MaxValue + 1) return false;
            value = (long)(0 - magnitude);
        }
        else
        {
            if (magnitude > long.MaxValue) return false;
            value = (long)magnitude;
        }
        return true;
    }

    /// <summary>A finite float in decimal or exponent notation ("10.5", "-3", "5.0e3"); no blanks, no nan or inf.</summary>
    public static bool TryParseDouble(ReadOnlySpan<byte> text, out double value)
    {
        value = 0;
        if (text.IsEmpty || text.Length > 64) return false;
        if (!Utf8Parser.TryParse(text, out value, out var consumed, 'E') && !Utf8Parser.TryParse(text, out value, out consumed)) return false;
        return consumed == text.Length && double.IsFinite(value);
    }
}
