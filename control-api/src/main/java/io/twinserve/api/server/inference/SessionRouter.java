package io.twinserve.api.server.inference;

import io.twinserve.api.server.infra.Redis;
import jakarta.inject.Singleton;
import java.util.concurrent.TimeUnit;
import java.util.function.ToIntFunction;

/**
 * Stateful KV routing: a session's first request picks the least-loaded replica and records it in Redis
 * ({@code twinserve:sessions:DEPLOYMENT}), so later turns land where their KV prefix is cached, whichever
 * server instance takes them.
 */
@Singleton
public final class SessionRouter {
  private static final long SESSION_TTL_SECONDS = 24 * 3600;
  private final Redis redis;

  public SessionRouter(Redis redis) {
    this.redis = redis;
  }

  public ToIntFunction<int[]> chooser(String deployment, String session) {
    if (session == null || session.isEmpty()) {
      return null;
    }
    String key = "twinserve:sessions:" + deployment;
    return loads -> {
      try {
        var async = redis.async();
        String known = async.hget(key, session).get(2, TimeUnit.SECONDS);
        if (known != null) {
          int i = Integer.parseInt(known);
          if (i >= 0 && i < loads.length) {
            return i;
          }
        }
        int chosen = DeploymentRuntime.leastLoaded(loads);
        if (!async.hsetnx(key, session, Integer.toString(chosen)).get(2, TimeUnit.SECONDS)) {
          // another instance recorded it first: follow that choice
          String other = async.hget(key, session).get(2, TimeUnit.SECONDS);
          chosen = other == null ? chosen : Math.min(loads.length - 1, Integer.parseInt(other));
        }
        async.expire(key, SESSION_TTL_SECONDS);
        return chosen;
      } catch (Exception e) {
        // Redis unreachable: route locally rather than fail the request
        return DeploymentRuntime.leastLoaded(loads);
      }
    };
  }
}
