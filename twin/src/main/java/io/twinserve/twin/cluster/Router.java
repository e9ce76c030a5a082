package io.twinserve.twin.cluster;

import io.twinserve.traces.Request;
import java.util.List;

/** Picks the replica of a deployment that serves a request. */
interface Router {

  /**
   * @param routable the deployment's ready replicas in id order (never empty)
   * @param adapter the request's adapter index in its deployment (-1: base model)
   * @param blockHashes the prompt's KV block hashes (may be empty)
   */
  Replica route(Request request, int adapter, long[] blockHashes, List<Replica> routable);

  static Router of(RouterSpec spec) {
    return switch (spec) {
      case RouterSpec.RoundRobin ignored -> new RoundRobinRouter();
      case RouterSpec.LeastLoaded ignored -> new LeastLoadedRouter();
      case RouterSpec.SessionAffinity ignored -> new SessionAffinityRouter();
      case RouterSpec.AdapterAffinity a -> new AdapterAffinityRouter(a.loadSlack());
      case RouterSpec.CacheAware ignored -> new CacheAwareRouter();
    };
  }
}
