package io.twinserve.api.server.inference;

import io.twinserve.api.server.infra.Redis;
import io.twinserve.twin.router.SessionStore;
import java.util.concurrent.TimeUnit;

/**
 * A deployment's session placements in Redis ({@code twinserve:sessions:DEPLOYMENT}, session to replica
 * index, kept a day after the last write), so that every server instance sharing the Redis routes a
 * session's later turns to the replica of its first. If Redis does not answer, the request is routed as
 * if the session were new rather than failed.
 */
public final class RedisSessionStore implements SessionStore {
    private static final long SESSION_TTL_SECONDS = 24 * 3600;
    private static final long TIMEOUT_SECONDS = 2;
    private final Redis redis;
    private final String key;

    public RedisSessionStore(Redis redis, String deployment) {
        this.redis = redis;
        this.key = "twinserve:sessions:" + deployment;
    }

    @Override
    public int replicaOf(String session) {
        try {
            return parse(redis.async().hget(key, session).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        } catch (Exception e) {
            return -1;
        }
    }

    @Override
    public int recordIfAbsent(String session, int replicaId) {
        try {
            var async = redis.async();
            int recorded = replicaId;
            if (!async.hsetnx(key, session, Integer.toString(replicaId)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                // another instance recorded it first: follow that choice
                int other = parse(async.hget(key, session).get(TIMEOUT_SECONDS, TimeUnit.SECONDS));
                recorded = other < 0 ? replicaId : other;
            }
            async.expire(key, SESSION_TTL_SECONDS);
            return recorded;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return replicaId;
        } catch (Exception e) {
            return replicaId;
        }
    }

    @Override
    public void replace(String session, int replicaId) {
        try {
            var async = redis.async();
            async.hset(key, session, Integer.toString(replicaId)).get(TIMEOUT_SECONDS, TimeUnit.SECONDS);
            async.expire(key, SESSION_TTL_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            // the session is routed this time all the same; the next turn tries to record it again
        }
    }

    private static int parse(String value) {
        if (value == null) {
            return -1;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            return -1;
        }
    }
}
