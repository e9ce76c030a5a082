package io.twinserve.placement;

import io.twinserve.traces.spec.LengthsSpec;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.deploy.ReplicaSpec;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * A sweep (docs/placement.md): the workloads and configurations to run through the twin. Every list is
 * a grid axis; the sweep is their cartesian product, minus the slot counts above the served adapters,
 * or a seeded random sample of it.
 *
 * <p>A workload is a model serving {@code served} adapters, each its own request stream at one of three
 * per-adapter rates (a third of the adapters each, the study's popularity tiers), with ranks assigned
 * round-robin from a rank triple, a length shape and an arrival burstiness. A configuration is a pool
 * (its GPU), {@code tp}, {@code max_adapters} (slots) and {@code kv_cache_len}.
 *
 * @param rates per-adapter rates (requests/s); every combination of {@code tiers} distinct values is a
 *     rate triple
 * @param ranks rank triples (one per tier position, assigned round-robin)
 * @param kvCacheLen KV-cache capacities in tokens; 0 means from memory ({@code gpu_memory_utilization})
 * @param burstiness arrival coefficients of variation: 1 is Poisson, more is burstier (gamma gaps), 0 constant gaps
 * @param replica settings every configuration shares (the swept keys are overridden)
 * @param sample run a seeded random sample of this many scenarios instead of the whole grid
 * @param stopWhenStarving stop a run once its starvation is settled (default true; see docs)
 * @param sampleFamilies run every configuration of a seeded random sample of this many workload families
 *     (length shape, burstiness, rank triple and rate triple, with every served count) instead of all of
 *     them: the labels need a family's whole table, which scenario sampling would break
 * @param stopAfterMiss in each workload family, once a served count has no configuration that meets
 *     {@code slo}, run this many more served counts and skip the larger ones (null: run them all). The
 *     labels only look up to the first such count (the optimum is the count before it, and no larger
 *     count has a configuration to label), and most of a sweep's time goes to the overloaded runs above it
 * @param slo what {@code stopAfterMiss} judges by (over {@link SloSpec#DEFAULTS}); a model trained on
 *     such a sweep must use an SLO at least as strict, which {@code twinserve train} checks
 * @param tierSkew popularity within each tier: exponents s in [0, 1), each a family axis. A tier's m
 *     adapters, busiest first, carry shares {@code ((j+1)/m)^(1-s) - (j/m)^(1-s)} of its traffic (a
 *     continuous Zipf-like profile), so the tier's mean rate stays its rate and its busiest tenth carries
 *     {@code 0.1^(1-s)} of it whatever the served count; 0 (the default) spreads it evenly, as the study did
 */
public record SweepSpec(
        String name,
        String description,
        Long seed,
        Double windowS,
        List<ModelEntry> models,
        List<PoolEntry> pools,
        List<Integer> served,
        List<Integer> slots,
        List<Double> rates,
        Integer tiers,
        List<List<Integer>> ranks,
        List<Integer> tp,
        List<Integer> kvCacheLen,
        List<LengthShape> lengths,
        List<Double> burstiness,
        ReplicaSpec replica,
        Integer sample,
        Boolean stopWhenStarving,
        Integer sampleFamilies,
        Integer stopAfterMiss,
        SloSpec slo,
        List<Double> tierSkew) {

    /** This spec with {@code newPools} as its pools. */
    public SweepSpec withPools(List<PoolEntry> newPools) {
        return with(seed, newPools);
    }

    /** This spec with {@code newSeed} as its seed (the same workloads, other random draws). */
    public SweepSpec withSeed(Long newSeed) {
        return with(newSeed, pools);
    }

    private SweepSpec with(Long newSeed, List<PoolEntry> newPools) {
        return new SweepSpec(
                name,
                description,
                newSeed,
                windowS,
                models,
                newPools,
                served,
                slots,
                rates,
                tiers,
                ranks,
                tp,
                kvCacheLen,
                lengths,
                burstiness,
                replica,
                sample,
                stopWhenStarving,
                sampleFamilies,
                stopAfterMiss,
                slo,
                tierSkew);
    }

    /** A sweep whose tiers spread their traffic evenly over their adapters (the study's tiers). */
    public SweepSpec(
            String name,
            String description,
            Long seed,
            Double windowS,
            List<ModelEntry> models,
            List<PoolEntry> pools,
            List<Integer> served,
            List<Integer> slots,
            List<Double> rates,
            Integer tiers,
            List<List<Integer>> ranks,
            List<Integer> tp,
            List<Integer> kvCacheLen,
            List<LengthShape> lengths,
            List<Double> burstiness,
            ReplicaSpec replica,
            Integer sample,
            Boolean stopWhenStarving,
            Integer sampleFamilies,
            Integer stopAfterMiss,
            SloSpec slo) {
        this(
                name,
                description,
                seed,
                windowS,
                models,
                pools,
                served,
                slots,
                rates,
                tiers,
                ranks,
                tp,
                kvCacheLen,
                lengths,
                burstiness,
                replica,
                sample,
                stopWhenStarving,
                sampleFamilies,
                stopAfterMiss,
                slo,
                null);
    }

    /** A sweep without early stops at the SLO. */
    public SweepSpec(
            String name,
            String description,
            Long seed,
            Double windowS,
            List<ModelEntry> models,
            List<PoolEntry> pools,
            List<Integer> served,
            List<Integer> slots,
            List<Double> rates,
            Integer tiers,
            List<List<Integer>> ranks,
            List<Integer> tp,
            List<Integer> kvCacheLen,
            List<LengthShape> lengths,
            List<Double> burstiness,
            ReplicaSpec replica,
            Integer sample,
            Boolean stopWhenStarving,
            Integer sampleFamilies) {
        this(
                name,
                description,
                seed,
                windowS,
                models,
                pools,
                served,
                slots,
                rates,
                tiers,
                ranks,
                tp,
                kvCacheLen,
                lengths,
                burstiness,
                replica,
                sample,
                stopWhenStarving,
                sampleFamilies,
                null,
                null,
                null);
    }

    /** A sweep without family sampling. */
    public SweepSpec(
            String name,
            String description,
            Long seed,
            Double windowS,
            List<ModelEntry> models,
            List<PoolEntry> pools,
            List<Integer> served,
            List<Integer> slots,
            List<Double> rates,
            Integer tiers,
            List<List<Integer>> ranks,
            List<Integer> tp,
            List<Integer> kvCacheLen,
            List<LengthShape> lengths,
            List<Double> burstiness,
            ReplicaSpec replica,
            Integer sample,
            Boolean stopWhenStarving) {
        this(
                name,
                description,
                seed,
                windowS,
                models,
                pools,
                served,
                slots,
                rates,
                tiers,
                ranks,
                tp,
                kvCacheLen,
                lengths,
                burstiness,
                replica,
                sample,
                stopWhenStarving,
                null,
                null,
                null,
                null);
    }

    /** A model and the calibrations to use on the GPUs they were fitted on (others run uncalibrated). */
    public record ModelEntry(String model, List<String> calibrations) {
        public ModelEntry {
            if (model == null || model.isBlank()) {
                throw new SpecException("model", "is required: a model profile name (e.g. llama-3.1-8b)");
            }
            calibrations = calibrations == null ? List.of() : List.copyOf(calibrations);
        }
    }

    /** A compute pool: its GPU and the price of one GPU-hour. */
    public record PoolEntry(String name, String gpu, Double costPerGpuHour) {
        public PoolEntry {
            if (gpu == null || gpu.isBlank()) {
                throw new SpecException("gpu", "is required: a GPU profile name (e.g. h100-64gb)");
            }
            name = name == null ? gpu : name;
            costPerGpuHour = costPerGpuHour == null ? 0.0 : costPerGpuHour;
            if (!(costPerGpuHour >= 0) || !Double.isFinite(costPerGpuHour)) {
                throw new SpecException("cost_per_gpu_hour", "must be a finite number >= 0, got " + costPerGpuHour);
            }
        }
    }

    /** A named request-length shape (the {@code lengths} block of a workload spec). */
    public record LengthShape(String name, LengthsSpec lengths) {
        public LengthShape {
            if (name == null || name.isBlank() || name.contains(",")) {
                throw new SpecException("name", "is required: a short name without commas (it labels dataset rows)");
            }
            if (lengths == null) {
                throw new SpecException(
                        "lengths", "is required: prompt and output distributions as in a workload spec");
            }
        }
    }

    public SweepSpec {
        name = name == null ? "sweep" : name;
        seed = seed == null ? 1L : seed;
        windowS = windowS == null ? 3600.0 : windowS;
        if (!(windowS > 0) || !Double.isFinite(windowS)) {
            throw new SpecException("window_s", "must be a finite number > 0, got " + windowS);
        }
        if (models == null || models.isEmpty()) {
            throw new SpecException("models", "is required: at least one {model, calibrations}");
        }
        models = List.copyOf(models);
        pools = pools == null || pools.isEmpty()
                ? List.of(new PoolEntry("h100-64gb", "h100-64gb", 0.0))
                : List.copyOf(pools);
        Set<String> names = new HashSet<>();
        for (int i = 0; i < pools.size(); i++) {
            if (!names.add(pools.get(i).name())) {
                throw new SpecException(
                        "pools[" + i + "].name", "'" + pools.get(i).name() + "' names two pools");
            }
        }
        served = positiveInts("served", served, null);
        slots = positiveInts("slots", slots, served);
        if (rates == null || rates.isEmpty()) {
            throw new SpecException("rates", "is required: per-adapter request rates (requests/s)");
        }
        for (int i = 0; i < rates.size(); i++) {
            if (rates.get(i) == null || !(rates.get(i) > 0) || !Double.isFinite(rates.get(i))) {
                throw new SpecException("rates[" + i + "]", "must be a finite rate > 0, got " + rates.get(i));
            }
        }
        rates = List.copyOf(rates);
        tiers = tiers == null ? 3 : tiers;
        if (tiers != 3) {
            throw new SpecException("tiers", "must be 3 (the study's popularity tiers), got " + tiers);
        }
        if (rates.size() < tiers) {
            throw new SpecException(
                    "rates", "needs at least " + tiers + " distinct values to form triples, got " + rates.size());
        }
        if (new HashSet<>(rates).size() != rates.size()) {
            throw new SpecException("rates", "has a value twice; rate triples are drawn from distinct values");
        }
        if (ranks == null || ranks.isEmpty()) {
            ranks = List.of(List.of(8, 16, 32));
        }
        List<List<Integer>> rk = new ArrayList<>();
        for (int i = 0; i < ranks.size(); i++) {
            List<Integer> t = ranks.get(i);
            if (t == null || t.size() != 3) {
                throw new SpecException(
                        "ranks[" + i + "]", "must be a triple of adapter ranks, e.g. [8, 16, 32], got " + t);
            }
            for (int j = 0; j < 3; j++) {
                if (t.get(j) == null || t.get(j) < 1 || t.get(j) > 1024) {
                    throw new SpecException(
                            "ranks[" + i + "][" + j + "]", "must be a rank in 1..1024, got " + t.get(j));
                }
            }
            rk.add(List.copyOf(t));
        }
        ranks = List.copyOf(rk);
        tp = positiveInts("tp", tp == null ? List.of(1) : tp, null);
        kvCacheLen = kvCacheLen == null || kvCacheLen.isEmpty() ? List.of(0) : List.copyOf(kvCacheLen);
        for (int i = 0; i < kvCacheLen.size(); i++) {
            if (kvCacheLen.get(i) == null || kvCacheLen.get(i) < 0) {
                throw new SpecException(
                        "kv_cache_len[" + i + "]",
                        "must be a token count >= 0 (0: from memory), got " + kvCacheLen.get(i));
            }
        }
        if (lengths == null || lengths.isEmpty()) {
            throw new SpecException("lengths", "is required: at least one {name, lengths} shape");
        }
        lengths = List.copyOf(lengths);
        Set<String> shapeNames = new HashSet<>();
        for (int i = 0; i < lengths.size(); i++) {
            if (!shapeNames.add(lengths.get(i).name())) {
                throw new SpecException(
                        "lengths[" + i + "].name", "'" + lengths.get(i).name() + "' names two shapes");
            }
        }
        burstiness = burstiness == null || burstiness.isEmpty() ? List.of(1.0) : List.copyOf(burstiness);
        for (int i = 0; i < burstiness.size(); i++) {
            Double cv = burstiness.get(i);
            if (cv == null || !(cv >= 0) || !Double.isFinite(cv)) {
                throw new SpecException(
                        "burstiness[" + i + "]",
                        "must be an arrival CV >= 0 (0 is constant gaps, 1 is Poisson)," + " got " + cv);
            }
        }
        replica = replica == null ? ReplicaSpec.defaults() : replica;
        if (sample != null && sample < 1) {
            throw new SpecException("sample", "must be >= 1 scenarios, got " + sample);
        }
        stopWhenStarving = stopWhenStarving == null ? Boolean.TRUE : stopWhenStarving;
        if (sampleFamilies != null && sampleFamilies < 1) {
            throw new SpecException("sample_families", "must be >= 1 workload families, got " + sampleFamilies);
        }
        if (sampleFamilies != null && sample != null) {
            throw new SpecException("sample_families", "cannot be combined with sample; choose families or scenarios");
        }
        if (stopAfterMiss != null && stopAfterMiss < 0) {
            throw new SpecException("stop_after_miss", "must be >= 0 served counts, got " + stopAfterMiss);
        }
        if (stopAfterMiss != null && sample != null) {
            throw new SpecException(
                    "stop_after_miss",
                    "cannot be combined with sample: it needs each family's served counts"
                            + " in order; use sample_families");
        }
        slo = SloSpec.resolve(slo);
        tierSkew = tierSkew == null || tierSkew.isEmpty() ? List.of(0.0) : List.copyOf(tierSkew);
        for (int i = 0; i < tierSkew.size(); i++) {
            Double sk = tierSkew.get(i);
            if (sk == null || !(sk >= 0) || !(sk < 1)) {
                throw new SpecException(
                        "tier_skew[" + i + "]",
                        "must be an exponent in [0, 1) (0: a tier's adapters share its"
                                + " traffic evenly; 0.8: its busiest tenth carries 63% of it), got " + sk);
            }
        }
        if (new HashSet<>(tierSkew).size() != tierSkew.size()) {
            throw new SpecException("tier_skew", "has a value twice, got " + tierSkew);
        }
    }

    private static List<Integer> positiveInts(String key, List<Integer> values, List<Integer> fallback) {
        if (values == null || values.isEmpty()) {
            if (fallback != null) {
                return fallback;
            }
            throw new SpecException(key, "is required: a list of positive integers");
        }
        for (int i = 0; i < values.size(); i++) {
            if (values.get(i) == null || values.get(i) < 1) {
                throw new SpecException(key + "[" + i + "]", "must be >= 1, got " + values.get(i));
            }
        }
        return List.copyOf(values);
    }
}
