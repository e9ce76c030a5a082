package io.twinserve.twin.cluster;

import io.twinserve.traces.Request;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Sticky sessions: a session's turns go to the replica of its first turn while that replica is ready.
 * Requests without a session but with prefix hashes (Mooncake) stick by their first block, so requests
 * sharing a prefix meet where it is cached. Everything else, and new sessions, go to the least loaded.
 */
final class SessionAffinityRouter implements Router {
  private final LeastLoadedRouter fallback = new LeastLoadedRouter();
  private final Map<Object, Replica> affinity = new HashMap<>();

  @Override
  public Replica route(Request request, int adapter, long[] blockHashes, List<Replica> routable) {
    Object key = request.sessionId() != null ? request.sessionId()
        : request.prefixHashes().length > 0 ? (Object) request.prefixHashes()[0] : null;
    if (key == null) {
      return fallback.pick(routable);
    }
    Replica r = affinity.get(key);
    if (r == null || !r.routable()) {
      r = fallback.pick(routable);
      affinity.put(key, r);
    }
    return r;
  }
}
