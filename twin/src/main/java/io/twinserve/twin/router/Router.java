package io.twinserve.twin.router;

import io.twinserve.traces.Request;
import java.util.List;

/**
 * Picks the replica of a deployment that serves a request. A router keeps state between calls (a
 * rotation, sessions) and is not thread-safe: callers on many threads route one at a time.
 */
public interface Router {

    /** @param routable the deployment's ready replicas in id order (never empty) */
    <R extends RoutableReplica> R route(RouteRequest request, List<R> routable);

    /**
     * A trace request (see {@link RouteRequest#of}).
     *
     * @param adapter the request's adapter index in its deployment (-1: base model)
     * @param blockHashes the prompt's KV block hashes (may be empty)
     */
    default <R extends RoutableReplica> R route(Request request, int adapter, long[] blockHashes, List<R> routable) {
        return route(RouteRequest.of(request, adapter, blockHashes), routable);
    }

    /** A router with sessions of its own, in memory (the twin's). */
    static Router of(RouterSpec spec) {
        return of(spec, SessionStore.inMemory());
    }

    /** A router whose sticky policies record sessions in {@code sessions}. */
    static Router of(RouterSpec spec, SessionStore sessions) {
        return switch (spec) {
            case RouterSpec.RoundRobin ignored -> new RoundRobinRouter();
            case RouterSpec.LeastLoaded ignored -> new LeastLoadedRouter();
            case RouterSpec.SessionAffinity ignored -> new SessionAffinityRouter(sessions);
            case RouterSpec.AdapterAffinity a -> new AdapterAffinityRouter(a.loadSlack());
            case RouterSpec.CacheAware ignored -> new CacheAwareRouter();
        };
    }
}
