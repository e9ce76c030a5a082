package io.twinserve.twin.router;

import java.util.List;

/**
 * Prefers replicas whose GPU slots hold the request's adapter (resident or loading), to avoid loading it
 * elsewhere and evicting another: the least loaded of them, unless it has more than {@code loadSlack}
 * outstanding requests above the least loaded replica overall. Base-model requests and adapters resident
 * nowhere go to the least loaded replica.
 */
final class AdapterAffinityRouter implements Router {
    private final LeastLoadedRouter fallback = new LeastLoadedRouter();
    private final int loadSlack;

    AdapterAffinityRouter(int loadSlack) {
        this.loadSlack = loadSlack;
    }

    @Override
    public <R extends RoutableReplica> R route(RouteRequest request, List<R> routable) {
        int adapter = request.adapter();
        if (adapter < 0) {
            return fallback.pick(routable);
        }
        R best = null;
        long bestLoad = Long.MAX_VALUE;
        for (R r : routable) {
            if (r.holdsAdapter(adapter) && r.outstanding() < bestLoad) {
                best = r;
                bestLoad = r.outstanding();
            }
        }
        if (best != null && bestLoad <= LeastLoadedRouter.minLoad(routable) + loadSlack) {
            return best;
        }
        return fallback.pick(routable);
    }
}
