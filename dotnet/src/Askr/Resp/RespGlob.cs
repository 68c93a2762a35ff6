namespace Askr.Resp;

/// <summary>
/// Redis' glob-style matching (util.c, stringmatchlen), for SCAN MATCH, KEYS and CONFIG GET:
/// <c>*</c> any run, <c>?</c> one byte, <c>[abc]</c>, <c>[^a]</c>, <c>[a-z]</c> classes, <c>\x</c>
/// a literal x. Byte-wise and case-sensitive. Backtracks only to the last <c>*</c>, so the cost
/// is at most pattern × subject (Redis' recursive matcher can take exponential time).
/// </summary>
internal static class RespGlob
{
    public static bool IsMatch(ReadOnlySpan<byte> pattern, ReadOnlySpan<byte> subject)
    {
        int p = 0, s = 0, starP = -1, starS = 0;
        while (s < subject.Length)
        {
            if (p < pattern.Length)
            {
                var c = pattern[p];
                if (c == '*')
                {
                    while (p < pattern.Length && pattern[p] == '*') p++;
                    if (p == pattern.Length) return true;
                    starP = p;
                    starS = s;
                    continue;
                }
                if (c == '?')
                {
                    p++;
                    s++;
                    continue;
                }
                if (c == '[')
                {
                    if (MatchClass(pattern, p, subject[s], out var next))
                    {
                        p = next;
                        s++;
                        continue;
                    }
                }
                else
                {
                    if (c == '\\' && p + 1 < pattern.Length) c = pattern[++p];
                    if (c == subject[s])
                    {
                        p++;
                        s++;
                        continue;
                    }
                }
            }
            if (starP < 0) return false;
            // Let the last '*' take one more byte and retry from after it.
            p = starP;
            s = ++starS;
        }
        while (p < pattern.Length && pattern[p] == '*') p++;
        return p == pattern.Length;
    }

    /// <summary>Matches one byte against the class starting at pattern[open] == '['; next is the index after the class.</summary>
    private static bool MatchClass(ReadOnlySpan<byte> pattern, int open, byte b, out int next)
    {
        var p = open + 1;
        var not = p < pattern.Length && pattern[p] == '^';
        if (not) p++;
        var match = false;
        while (true)
        {
            if (p >= pattern.Length)
            {
                // Unterminated class: Redis treats the end of the pattern as its end.
                break;
            }
            var c = pattern[p];
            if (c == '\\' && p + 1 < pattern.Length)
            {
                p++;
                if (pattern[p] == b) match = true;
            }
            else if (c == ']')
            {
                break;
            }
            else if (p + 2 < pattern.Length && pattern[p + 1] == '-')
            {
                int start = c, end = pattern[p + 2];
                if (start > end) (start, end) = (end, start);
                p += 2;
                if (b >= start && b <= end) match = true;
            }
            else if (c == b)
            {
                match = true;
            }
            p++;
        }
        next = Math.Min(p + 1, pattern.Length);
        return not ? !match : match;
    }
}
