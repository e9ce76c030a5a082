package io.twinserve.twin.cluster;

import io.twinserve.traces.Request;
import java.util.List;

/** Replicas in turn. */
final class RoundRobinRouter implements Router {
  private long next;

  @Override
  public Replica route(Request request, int adapter, long[] blockHashes, List<Replica> routable) {
    return routable.get((int) (next++ % routable.size()));
  }
}
