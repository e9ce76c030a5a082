package io.twinserve.twin.router;

import java.util.List;

/**
 * Stateful KV routing, after Adaptive Engine's: for each ready replica it estimates when this request's
 * prefill would finish there, from the prefill work already queued on it plus the prompt minus the
 * prefix that replica already holds in its KV cache, and takes the earliest. A
 * session's replica wins while its cached turns save more than its extra queue costs; when it is busy
 * enough, a fresh replica with a full prefill is faster and gets the request. The state it reads is the
 * replicas' (their prefix caches and backlogs); of its own it keeps only the rotation for ties.
 */
final class CacheAwareRouter implements Router {
    private int start;

    @Override
    public <R extends RoutableReplica> R route(RouteRequest request, List<R> routable) {
        long[] blockHashes = request.blockHashes();
        int promptTokens = request.promptTokens();
        R best = null;
        double bestNs = Double.POSITIVE_INFINITY;
        int n = routable.size();
        // ties (an idle cluster) go to the first replica after a rotating start, to spread the load
        int s = start++ % n;
        if (start == Integer.MAX_VALUE) {
            start = 0;
        }
        for (int i = 0; i < n; i++) {
            R r = routable.get((s + i) % n);
            int cached = blockHashes.length == 0 ? 0 : r.cachedPrefixTokens(blockHashes, promptTokens);
            double ns = r.estimatedPrefillNs(promptTokens - cached);
            if (ns < bestNs) {
                best = r;
                bestNs = ns;
            }
        }
        return best;
    }
}
