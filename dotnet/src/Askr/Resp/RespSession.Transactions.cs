namespace Askr.Resp;

// MULTI/EXEC and pub/sub: askr has neither (docs/resp.md, "What differs from Redis"). They are
// known commands so that they are refused with a reason, and so that a transaction a client
// pipelines (MULTI, its commands, EXEC in one write, as StackExchange.Redis and phpredis send
// it) runs none of its commands: run one by one, outside a transaction, they would leave half a
// transaction behind, and a check-and-set built on WATCH would silently not be one.
internal sealed partial class RespSession
{
    private const string NoTransactions =
        "askr has no transactions: its keys are table rows, written by PHP workers and cluster peers without MULTI/EXEC";

    private static bool EndsRefusedMulti(RespCommandId id) =>
        id is RespCommandId.Exec or RespCommandId.Discard or RespCommandId.Multi or RespCommandId.Quit;

    /// <summary>MULTI: refused, and the session refuses what follows until EXEC or DISCARD.</summary>
    private void Multi(ref RespWriter w)
    {
        if (_refusedMulti)
        {
            w.WriteError("ERR MULTI calls can not be nested");
            return;
        }
        _refusedMulti = true;
        w.WriteError($"ERR MULTI is not supported here ({NoTransactions}); the commands up to EXEC or DISCARD will not run");
    }

    /// <summary>A command between a refused MULTI and its EXEC: not run.</summary>
    private static void RefuseInMulti(in RespCommands.Entry command, ref RespWriter w) =>
        w.WriteError($"ERR '{command.Name}' was not run: it follows a MULTI, which askr refused (EXEC or DISCARD ends it)");

    /// <summary>EXEC: after a refused MULTI, Redis' answer to a transaction whose commands failed to queue.</summary>
    private void Exec(ref RespWriter w)
    {
        if (!_refusedMulti)
        {
            w.WriteError("ERR EXEC without MULTI");
            return;
        }
        _refusedMulti = false;
        w.WriteRaw("-EXECABORT Transaction discarded because of previous errors.\r\n"u8);
    }

    private void Discard(ref RespWriter w)
    {
        if (!_refusedMulti)
        {
            w.WriteError("ERR DISCARD without MULTI");
            return;
        }
        _refusedMulti = false;
        w.WriteOk();
    }

    /// <summary>SUBSCRIBE, PUBLISH and the rest of pub/sub: refused with a reason (StackExchange.Redis subscribes to its configuration channel at connect, fire-and-forget, and carries on).</summary>
    private static void PubSubRefused(in RespCommands.Entry command, ref RespWriter w) =>
        w.WriteError($"ERR {command.Name.ToUpperInvariant()} is not supported here: askr's RESP endpoint serves tables and has no pub/sub (docs/resp.md)");
}
