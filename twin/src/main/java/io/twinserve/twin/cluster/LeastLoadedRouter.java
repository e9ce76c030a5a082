package io.twinserve.twin.cluster;

import io.twinserve.traces.Request;
import java.util.List;

/**
 * The replica with the fewest outstanding requests (waiting + running). Ties go to the first such replica
 * after a rotating start, so that an idle cluster spreads its load instead of piling onto replica 0.
 */
final class LeastLoadedRouter implements Router {
  private int start;

  @Override
  public Replica route(Request request, int adapter, long[] blockHashes, List<Replica> routable) {
    return pick(routable);
  }

  Replica pick(List<Replica> routable) {
    int n = routable.size();
    int s = start++ % n;
    if (start == Integer.MAX_VALUE) {
      start = 0;
    }
    Replica best = null;
    long bestLoad = Long.MAX_VALUE;
    for (int i = 0; i < n; i++) {
      Replica r = routable.get((s + i) % n);
      long load = r.outstanding();
      if (load < bestLoad) {
        best = r;
        bestLoad = load;
      }
    }
    return best;
  }

  static long minLoad(List<Replica> routable) {
    long min = Long.MAX_VALUE;
    for (Replica r : routable) {
      min = Math.min(min, r.outstanding());
    }
    return min;
  }
}
