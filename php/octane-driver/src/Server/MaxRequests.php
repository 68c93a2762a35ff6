<?php

namespace Askr\Octane\Server;

/**
 * Octane's --max-requests in an askr worker: after that many requests the worker script leaves
 * its loop and askr runs it again in the same process, so the application boots afresh (as
 * Octane's FrankenPHP worker does). Each worker adds up to SPREAD_PERCENT % of the limit at
 * random, so the workers do not all boot again at once: the same rule as the runtime's own
 * process recycling (`askr serve --max-requests`), from the seam's constant list
 * (native/shim/constants.json, RECYCLE_SPREAD_PERCENT; tests-php/Unit/Natives/SeamConstantsTest).
 */
final class MaxRequests
{
    public const SPREAD_PERCENT = 20;

    /**
     * This worker's own limit: $maxRequests plus up to SPREAD_PERCENT % of it; 0 (never) stays 0.
     */
    public static function forThisWorker(int $maxRequests): int
    {
        return $maxRequests > 0 ? $maxRequests + random_int(0, intdiv($maxRequests * self::SPREAD_PERCENT, 100)) : 0;
    }
}
