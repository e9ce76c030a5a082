package io.twinserve.twin.router;

import java.util.List;

/** Replicas in turn. */
final class RoundRobinRouter implements Router {
    private long next;

    @Override
    public <R extends RoutableReplica> R route(RouteRequest request, List<R> routable) {
        return routable.get((int) (next++ % routable.size()));
    }
}
