package io.twinserve.twin.router;

import java.util.List;

/**
 * The replica with the fewest outstanding requests (waiting + running). Ties go to the first such replica
 * after a rotating start, so that an idle cluster spreads its load instead of piling onto replica 0.
 */
final class LeastLoadedRouter implements Router {
    private int start;

    @Override
    public <R extends RoutableReplica> R route(RouteRequest request, List<R> routable) {
        return pick(routable);
    }

    <R extends RoutableReplica> R pick(List<R> routable) {
        int n = routable.size();
        int s = start++ % n;
        if (start == Integer.MAX_VALUE) {
            start = 0;
        }
        R best = null;
        long bestLoad = Long.MAX_VALUE;
        for (int i = 0; i < n; i++) {
            R r = routable.get((s + i) % n);
            long load = r.outstanding();
            if (load < bestLoad) {
                best = r;
                bestLoad = load;
            }
        }
        return best;
    }

    static long minLoad(List<? extends RoutableReplica> routable) {
        long min = Long.MAX_VALUE;
        for (RoutableReplica r : routable) {
            min = Math.min(min, r.outstanding());
        }
        return min;
    }
}
