package io.twinserve.twin.cluster;

import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Which GPUs of which nodes are held. A replica takes {@code tp} GPUs of one node; pools are tried in
 * the deployment's order of preference and nodes first fit, so placement is deterministic.
 */
final class Placement {
    private final int[][] free;
    private final int[] held;
    private final int[] peak;

    Placement(List<ResolvedCluster.Pool> pools) {
        free = new int[pools.size()][];
        held = new int[pools.size()];
        peak = new int[pools.size()];
        for (int p = 0; p < pools.size(); p++) {
            free[p] = new int[pools.get(p).spec().nodes()];
            Arrays.fill(free[p], pools.get(p).spec().gpusPerNode());
        }
    }

    /** Takes {@code tp} GPUs of one node of the first pool (in {@code options} order) that has them; null if none. */
    Slot allocate(List<ResolvedCluster.PoolOption> options) {
        for (ResolvedCluster.PoolOption o : options) {
            int p = o.pool();
            int tp = o.replica().spec().replica().tp();
            for (int n = 0; n < free[p].length; n++) {
                if (free[p][n] >= tp) {
                    free[p][n] -= tp;
                    held[p] += tp;
                    peak[p] = Math.max(peak[p], held[p]);
                    return new Slot(o, n);
                }
            }
        }
        return null;
    }

    void release(Slot slot) {
        int p = slot.option().pool();
        int tp = slot.option().replica().spec().replica().tp();
        free[p][slot.node()] += tp;
        held[p] -= tp;
    }

    int peakGpus(int pool) {
        return peak[pool];
    }

    /** Replicas of this shape that would still fit, over all the options' pools. */
    int room(List<ResolvedCluster.PoolOption> options) {
        int n = 0;
        Set<Integer> seen = new HashSet<>();
        for (ResolvedCluster.PoolOption o : options) {
            if (seen.add(o.pool())) {
                int tp = o.replica().spec().replica().tp();
                for (int f : free[o.pool()]) {
                    n += f / tp;
                }
            }
        }
        return n;
    }

    /** Where a replica runs: a pool option (its pool and resolved replica) and the node. */
    record Slot(ResolvedCluster.PoolOption option, int node) {}
}
