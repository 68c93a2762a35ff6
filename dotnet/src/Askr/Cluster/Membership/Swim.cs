namespace Askr.Cluster.Membership;

/// <summary>A member's state in the SWIM protocol.</summary>
public enum MemberStatus { Alive = 0, Suspect = 1, Dead = 2, Left = 3 }

/// <summary>What a node knows of another: an entry of the member list, also the unit of gossip.</summary>
public readonly record struct MemberUpdate(ulong Id, string Address, ulong Incarnation, MemberStatus Status);

/// <summary>Timing and fan-out of the protocol. Defaults suit a LAN cluster of a few to a few hundred nodes.</summary>
public sealed record SwimOptions
{
    /// <summary>One probe per interval (SWIM's protocol period).</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromMilliseconds(500);
    /// <summary>Wait for a direct ping's ack before asking others to probe indirectly.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(200);
    /// <summary>Members asked to probe indirectly (SWIM's k).</summary>
    public int IndirectProbes { get; init; } = 3;
    /// <summary>Suspicion lasts this many probe intervals × log10(n+1) (at least 1) before the member is declared dead.</summary>
    public double SuspicionMultiplier { get; init; } = 4;
    /// <summary>Each update is piggybacked on this many × log10(n+1) (at least 1) messages (SWIM's λ).</summary>
    public double RetransmitMultiplier { get; init; } = 4;
    /// <summary>Most updates carried by one message.</summary>
    public int MaxGossipPerMessage { get; init; } = 16;
    /// <summary>Dead and left members are forgotten after this long (they may come back with a higher incarnation before).</summary>
    public TimeSpan ForgetAfter { get; init; } = TimeSpan.FromMinutes(5);
}

/// <summary>
/// SWIM membership (Das, Gupta, Motivala: "SWIM: Scalable Weakly-consistent Infection-style
/// Process Group Membership Protocol", 2002) with incarnation numbers and suspicion, as a state
/// machine without I/O: the caller sends the probes it asks for and feeds back what arrives, so
/// the same code runs over gRPC and in the in-process simulation (bench/cluster).
///
/// Rules (SWIM §4.2, "Suspicion mechanism"): an update with a higher incarnation overrides; at an
/// equal incarnation Suspect overrides Alive and Dead overrides both; only a member raises its own
/// incarnation, to refute a suspicion of itself. Not thread-safe: one caller at a time.
/// </summary>
public sealed class Swim
{
    private sealed class Entry
    {
        public required MemberUpdate State;
        public long ChangedAtMs;
        public long SuspectSinceMs;
    }

    private sealed class Pending
    {
        public required MemberUpdate Update;
        public int Remaining;
    }

    private readonly SwimOptions _options;
    private readonly Random _random;
    private readonly Dictionary<ulong, Entry> _members = new();
    private readonly List<Pending> _gossip = [];
    private readonly List<ulong> _probeOrder = [];
    private int _probeIndex;

    public Swim(ulong selfId, string selfAddress, SwimOptions? options = null, Random? random = null)
    {
        SelfId = selfId;
        SelfAddress = selfAddress;
        _options = options ?? new SwimOptions();
        _random = random ?? new Random();
    }

    public ulong SelfId { get; }
    public string SelfAddress { get; }
    public ulong Incarnation { get; private set; }
    public SwimOptions Options => _options;

    /// <summary>This node as it gossips itself.</summary>
    public MemberUpdate Self => new(SelfId, SelfAddress, Incarnation, MemberStatus.Alive);

    /// <summary>Raised when a member's status changes (or a member appears).</summary>
    public event Action<MemberUpdate>? Changed;

    /// <summary>All members but this node, in any state.</summary>
    public IEnumerable<MemberUpdate> Members => _members.Values.Select(e => e.State);

    /// <summary>Members that count as up (alive or suspect): replication targets.</summary>
    public IEnumerable<MemberUpdate> Reachable => _members.Values.Select(e => e.State).Where(s => s.Status is MemberStatus.Alive or MemberStatus.Suspect);

    public int ReachableCount => _members.Values.Count(e => e.State.Status is MemberStatus.Alive or MemberStatus.Suspect);

    public MemberStatus? StatusOf(ulong id) => _members.TryGetValue(id, out var e) ? e.State.Status : null;

    private double LogN => Math.Max(1, Math.Log10(ReachableCount + 2));

    /// <summary>Merges one update received from another node (gossip, a join, a leave).</summary>
    public void Apply(MemberUpdate update, long nowMs)
    {
        if (update.Id == SelfId)
        {
            // Someone suspects or buried us: refute with a higher incarnation (SWIM §4.2).
            if (update.Status != MemberStatus.Alive && update.Status != MemberStatus.Left && update.Incarnation >= Incarnation)
            {
                Incarnation = update.Incarnation + 1;
                Enqueue(Self);
            }
            return;
        }
        if (!_members.TryGetValue(update.Id, out var entry))
        {
            if (update.Status is MemberStatus.Dead or MemberStatus.Left) return; // nothing to forget
            entry = new Entry { State = update, ChangedAtMs = nowMs, SuspectSinceMs = update.Status == MemberStatus.Suspect ? nowMs : 0 };
            _members[update.Id] = entry;
            _probeOrder.Insert(_random.Next(_probeOrder.Count + 1), update.Id);
            Enqueue(update);
            Changed?.Invoke(update);
            return;
        }
        var known = entry.State;
        if (!Overrides(update, known)) return;
        entry.State = update with { Address = string.IsNullOrEmpty(update.Address) ? known.Address : update.Address };
        entry.ChangedAtMs = nowMs;
        if (update.Status == MemberStatus.Suspect && known.Status != MemberStatus.Suspect) entry.SuspectSinceMs = nowMs;
        Enqueue(entry.State);
        if (update.Status != known.Status) Changed?.Invoke(entry.State);
    }

    private static bool Overrides(MemberUpdate update, MemberUpdate known)
    {
        if (known.Status == MemberStatus.Left) return update.Incarnation > known.Incarnation && update.Status == MemberStatus.Alive;
        if (update.Incarnation != known.Incarnation) return update.Incarnation > known.Incarnation;
        return Rank(update.Status) > Rank(known.Status);
    }

    private static int Rank(MemberStatus s) => s switch
    {
        MemberStatus.Alive => 0,
        MemberStatus.Suspect => 1,
        MemberStatus.Dead => 2,
        _ => 3,
    };

    /// <summary>Our own probe of <paramref name="id"/> (direct and indirect) got no answer: suspect it.</summary>
    public void ProbeFailed(ulong id, long nowMs)
    {
        if (_members.TryGetValue(id, out var e) && e.State.Status == MemberStatus.Alive)
            Apply(e.State with { Status = MemberStatus.Suspect }, nowMs);
    }

    /// <summary>The next member to probe: round robin over a shuffled list (SWIM §4.3), skipping the dead.</summary>
    public MemberUpdate? NextProbeTarget()
    {
        for (var tries = 0; tries < _probeOrder.Count; tries++)
        {
            if (_probeIndex >= _probeOrder.Count)
            {
                _probeIndex = 0;
                Shuffle(_probeOrder);
            }
            var id = _probeOrder[_probeIndex++];
            if (_members.TryGetValue(id, out var e) && e.State.Status is MemberStatus.Alive or MemberStatus.Suspect) return e.State;
        }
        return null;
    }

    /// <summary>Up to k reachable members other than <paramref name="target"/>, to probe it indirectly.</summary>
    public List<MemberUpdate> PickHelpers(ulong target, int k) =>
        Reachable.Where(m => m.Id != target).OrderBy(_ => _random.Next()).Take(k).ToList();

    /// <summary>Up to <paramref name="count"/> random reachable members, excluding <paramref name="except"/>.</summary>
    public List<MemberUpdate> RandomReachable(int count, ulong except = 0) =>
        Reachable.Where(m => m.Id != except).OrderBy(_ => _random.Next()).Take(count).ToList();

    /// <summary>Declares suspects dead once their suspicion timed out; forgets long-dead members.</summary>
    public void Tick(long nowMs)
    {
        var timeout = (long)(_options.SuspicionMultiplier * LogN * _options.ProbeInterval.TotalMilliseconds);
        foreach (var e in _members.Values.ToList())
        {
            if (e.State.Status == MemberStatus.Suspect && nowMs - e.SuspectSinceMs >= timeout)
                Apply(e.State with { Status = MemberStatus.Dead }, nowMs);
            else if (e.State.Status is MemberStatus.Dead or MemberStatus.Left && nowMs - e.ChangedAtMs >= _options.ForgetAfter.TotalMilliseconds)
            {
                _members.Remove(e.State.Id);
                _probeOrder.Remove(e.State.Id);
            }
        }
    }

    /// <summary>Updates to piggyback on the next message: this node itself (alive), then the queued ones, each going out λ·log(n) times, freshest first.</summary>
    public List<MemberUpdate> TakeGossip()
    {
        // Every message also says that its sender is alive (as memberlist's alive messages do):
        // a node that learned of another only from a join answer is learned back by that node at
        // its first probe, even when the updates about it ran out of retransmissions elsewhere.
        var picked = new List<MemberUpdate> { Self };
        foreach (var p in _gossip.OrderByDescending(p => p.Remaining).Take(_options.MaxGossipPerMessage).ToList())
        {
            picked.Add(p.Update);
            if (--p.Remaining <= 0) _gossip.Remove(p);
        }
        return picked;
    }

    private void Enqueue(MemberUpdate update)
    {
        _gossip.RemoveAll(p => p.Update.Id == update.Id);
        _gossip.Add(new Pending { Update = update, Remaining = (int)Math.Ceiling(_options.RetransmitMultiplier * LogN) });
    }

    /// <summary>The message to send other nodes when this one leaves on purpose.</summary>
    public MemberUpdate Leaving() => Self with { Status = MemberStatus.Left };

    private void Shuffle(List<ulong> list)
    {
        for (var i = list.Count - 1; i > 0; i--)
        {
            var j = _random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
