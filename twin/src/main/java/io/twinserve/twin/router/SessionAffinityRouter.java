package io.twinserve.twin.router;

import java.util.List;

/**
 * Sticky sessions: a session's turns go to the replica of its first turn while that replica is ready.
 * Requests without a session but with prefix hashes (Mooncake) stick by their first block, so requests
 * sharing a prefix meet where it is cached. Everything else, and new sessions, go to the least loaded.
 * The placements live in a {@link SessionStore}, which several routers may share.
 */
final class SessionAffinityRouter implements Router {
    private final LeastLoadedRouter fallback = new LeastLoadedRouter();
    private final SessionStore sessions;

    SessionAffinityRouter(SessionStore sessions) {
        this.sessions = sessions;
    }

    @Override
    public <R extends RoutableReplica> R route(RouteRequest request, List<R> routable) {
        String key = request.sessionKey();
        if (key == null) {
            return fallback.pick(routable);
        }
        int known = sessions.replicaOf(key);
        R r = known < 0 ? null : find(routable, known);
        if (r != null) {
            return r;
        }
        r = fallback.pick(routable);
        if (known >= 0) {
            // its replica is no longer ready: the session moves
            sessions.replace(key, r.replicaId());
            return r;
        }
        int recorded = sessions.recordIfAbsent(key, r.replicaId());
        if (recorded != r.replicaId()) {
            // another router sharing the store placed the session first: follow it where it can
            R other = find(routable, recorded);
            return other != null ? other : r;
        }
        return r;
    }

    private static <R extends RoutableReplica> R find(List<R> routable, int replicaId) {
        for (R r : routable) {
            if (r.replicaId() == replicaId) {
                return r;
            }
        }
        return null;
    }
}
