namespace Askr.Worker;

/// <summary>
/// How many of this HTTP worker's keep-alive connections should end after their next response
/// (Control.ShedConnectionsMessage, sent by the supervisor when autoscaling activates more workers:
/// a client that opened its connections before the scale up would otherwise keep them all on the
/// busy workers). A graceful end: the response carries <c>Connection: close</c> (RFC 9112 §9.6),
/// so the client knows not to send another request on it and no request is lost.
/// </summary>
internal static class ConnectionShedding
{
    private static int _pending;

    /// <summary>Asks for <paramref name="count"/> connections to end (replaces what is still pending).</summary>
    public static void Request(int count) => Volatile.Write(ref _pending, Math.Max(0, count));

    /// <summary>True when this response should end its connection (takes one from what is pending).</summary>
    public static bool TryTake()
    {
        while (true)
        {
            var n = Volatile.Read(ref _pending);
            if (n <= 0) return false;
            if (Interlocked.CompareExchange(ref _pending, n - 1, n) == n) return true;
        }
    }
}
