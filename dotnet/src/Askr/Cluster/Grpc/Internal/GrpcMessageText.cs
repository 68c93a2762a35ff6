using System.Text;

namespace Askr.Cluster.Grpc.Internal;

/// <summary>
/// The <c>grpc-message</c> value: UTF-8, with every byte outside 0x20..0x7E and '%' itself
/// percent-encoded (PROTOCOL-HTTP2.md, "Responses").
/// </summary>
internal static class GrpcMessageText
{
    public static string Encode(string text)
    {
        var needs = false;
        foreach (var c in text)
        {
            if (c is < ' ' or > '~' or '%') { needs = true; break; }
        }
        if (!needs) return text;
        var bytes = Encoding.UTF8.GetBytes(text);
        var sb = new StringBuilder(bytes.Length * 2);
        foreach (var b in bytes)
        {
            if (b is < 0x20 or > 0x7E or (byte)'%') sb.Append('%').Append(b.ToString("X2"));
            else sb.Append((char)b);
        }
        return sb.ToString();
    }

    /// <summary>Decodes leniently: a '%' not followed by two hex digits is kept as is, as the spec asks.</summary>
    public static string Decode(string? value)
    {
        if (string.IsNullOrEmpty(value)) return "";
        if (!value.Contains('%')) return value;
        var bytes = new List<byte>(value.Length);
        for (var i = 0; i < value.Length; i++)
        {
            if (value[i] == '%' && i + 2 < value.Length && Uri.IsHexDigit(value[i + 1]) && Uri.IsHexDigit(value[i + 2]))
            {
                bytes.Add((byte)Convert.ToInt32(value.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                foreach (var b in Encoding.UTF8.GetBytes(value[i].ToString())) bytes.Add(b);
            }
        }
        return Encoding.UTF8.GetString(bytes.ToArray());
    }
}
