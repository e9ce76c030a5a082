package io.twinserve.twin.capacity;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.cluster.PoolSpec;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.router.RouterSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A capacity question (docs/capacity-search.md): a workload, the pools that may serve it, the SLO, and
 * the deployments to try; for each, the search finds the highest rate it sustains.
 *
 * @param workload a workload spec (.yaml) or a trace, relative to this file's folder
 * @param adapterRank rank of the adapters a trace names (default 16)
 * @param replica the replica settings every candidate shares (tp, max_adapters and kv_cache_len come
 *     from the search)
 * @param maxTtftMs the deployments' TTFT deadline (408 after it; default 60000)
 * @param windowS simulated seconds per probe (default: the workload's duration_s, else 600)
 */
public record CapacitySpec(
        String name,
        String workload,
        Integer adapterRank,
        String model,
        PerfModelSpec perfModel,
        ReplicaSpec replica,
        List<PoolSpec> pools,
        Double maxTtftMs,
        SloSpec slo,
        Space search,
        RateSpec rate,
        Double windowS,
        Long seed) {

    public CapacitySpec {
        if (workload == null || workload.isBlank()) {
            throw new SpecException("workload", "is required: a workload spec (.yaml) or a trace file");
        }
        if (model == null || model.isBlank()) {
            throw new SpecException(
                    "model", "is required: a model profile name (e.g. llama-3.1-8b) or a config.json path");
        }
        if (pools == null || pools.isEmpty()) {
            throw new SpecException("pools", "is required: the compute pools the deployments may use");
        }
        pools = List.copyOf(pools);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < pools.size(); i++) {
            if (!names.add(pools.get(i).name())) {
                throw new SpecException(
                        "pools[" + i + "].name", "'" + pools.get(i).name() + "' names two pools");
            }
        }
        replica = replica == null ? ReplicaSpec.defaults() : replica;
        perfModel = perfModel == null ? new PerfModelSpec.Roofline(null) : perfModel;
        slo = slo == null ? SloSpec.NONE : slo;
        search = search == null ? new Space(null, null, null, null, null, null) : search;
        for (int i = 0; i < search.pools().size(); i++) {
            if (!names.contains(search.pools().get(i))) {
                throw new SpecException(
                        "search.pools[" + i + "]",
                        "'" + search.pools().get(i) + "' is not one of pools: "
                                + String.join(", ", names.stream().sorted().toList()));
            }
        }
        rate = rate == null ? new RateSpec(null, null, null, null) : rate;
        if (windowS != null && !(windowS > 0)) {
            throw new SpecException("window_s", "must be > 0, got " + windowS);
        }
        if (adapterRank != null && adapterRank < 1) {
            throw new SpecException("adapter_rank", "must be >= 1, got " + adapterRank);
        }
        maxTtftMs = maxTtftMs == null ? 60_000.0 : maxTtftMs;
        name = name == null ? "capacity" : name;
    }

    /**
     * The settings to combine (a cartesian product). Null lists take one default each: every pool, tp 1,
     * 1 replica, the replica's max_adapters, a KV cache from memory ({@code null} in the list), least loaded.
     */
    public record Space(
            List<String> pools,
            List<Integer> tp,
            List<Integer> replicas,
            List<Integer> maxAdapters,
            List<Integer> kvCacheLen,
            List<RouterSpec> routers) {

        public Space {
            pools = pools == null ? List.of() : List.copyOf(pools);
            tp = nonEmpty("tp", tp, 1);
            replicas = nonEmpty("replicas", replicas, 1);
            maxAdapters = maxAdapters == null ? Arrays.asList((Integer) null) : new ArrayList<>(maxAdapters);
            kvCacheLen = kvCacheLen == null ? Arrays.asList((Integer) null) : new ArrayList<>(kvCacheLen);
            routers =
                    routers == null || routers.isEmpty() ? List.of(new RouterSpec.LeastLoaded()) : List.copyOf(routers);
            for (int i = 0; i < replicas.size(); i++) {
                if (replicas.get(i) < 1) {
                    throw new SpecException("replicas[" + i + "]", "must be >= 1, got " + replicas.get(i));
                }
            }
        }

        private static List<Integer> nonEmpty(String key, List<Integer> v, int dflt) {
            if (v == null || v.isEmpty()) {
                return List.of(dflt);
            }
            for (int i = 0; i < v.size(); i++) {
                if (v.get(i) == null) {
                    throw new SpecException(key + "[" + i + "]", "must be a number");
                }
            }
            return List.copyOf(v);
        }
    }

    /**
     * The request rates to try, as multiples of the workload's own rate: a geometric ladder from
     * {@code min_scale} to {@code max_scale} in ratios of {@code step}. A candidate meets the target when it
     * sustains {@code target_scale} (default 1: the workload as given).
     */
    public record RateSpec(Double targetScale, Double minScale, Double maxScale, Double step) {

        public RateSpec {
            targetScale = targetScale == null ? 1.0 : targetScale;
            minScale = minScale == null ? 0.125 : minScale;
            maxScale = maxScale == null ? 16.0 : maxScale;
            step = step == null ? 1.1 : step;
            if (!(minScale > 0)) {
                throw new SpecException("min_scale", "must be > 0, got " + minScale);
            }
            if (!(maxScale >= minScale)) {
                throw new SpecException("max_scale", "must be >= min_scale (" + minScale + "), got " + maxScale);
            }
            if (!(step > 1)) {
                throw new SpecException("step", "must be > 1 (the ratio between two rates tried), got " + step);
            }
            if (!(targetScale > 0)) {
                throw new SpecException("target_scale", "must be > 0, got " + targetScale);
            }
        }

        /** The ladder of scales, ascending, with the target scale on it. */
        public double[] ladder() {
            TreeSet<Double> out = new TreeSet<>();
            for (int i = 0; minScale * Math.pow(step, i) <= maxScale * (1 + 1e-9); i++) {
                out.add(minScale * Math.pow(step, i));
            }
            out.add(targetScale);
            return out.stream().mapToDouble(Double::doubleValue).toArray();
        }
    }
}
