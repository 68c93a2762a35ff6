namespace Askr.Php;

internal sealed partial class PhpThread
{
    /// <summary>The node's response cache, for the cache natives (Askr.ResponseCache.CacheNatives); null when the server runs none.</summary>
    public Askr.ResponseCache.CacheStore? ResponseCache { get; init; }
}
