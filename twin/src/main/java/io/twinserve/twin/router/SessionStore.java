package io.twinserve.twin.router;

import java.util.HashMap;
import java.util.Map;

/**
 * Where sticky routers record which replica serves a session: in memory for the twin, in Redis for the
 * server (so every server instance routes a session alike).
 */
public interface SessionStore {

    /** The replica recorded for the session, or -1. */
    int replicaOf(String session);

    /**
     * Records {@code replicaId} for a session that has none and answers it; if another router recorded one
     * first, answers that one instead.
     */
    int recordIfAbsent(String session, int replicaId);

    /** Records {@code replicaId} for the session, replacing a replica that is no longer routable. */
    void replace(String session, int replicaId);

    /** A store of one router's own (the twin's): a plain map, not thread-safe. */
    static SessionStore inMemory() {
        Map<String, Integer> map = new HashMap<>();
        return new SessionStore() {
            @Override
            public int replicaOf(String session) {
                Integer id = map.get(session);
                return id == null ? -1 : id;
            }

            @Override
            public int recordIfAbsent(String session, int replicaId) {
                Integer known = map.putIfAbsent(session, replicaId);
                return known == null ? replicaId : known;
            }

            @Override
            public void replace(String session, int replicaId) {
                map.put(session, replicaId);
            }
        };
    }
}
