package io.twinserve.placement;

import io.twinserve.traces.Request;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.AdaptersSpec;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.PopularitySpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.exec.Parallel;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongConsumer;

/**
 * Runs a {@link SweepSpec} through the twin: enumerates its scenarios in a fixed order, takes a shard
 * or a sample of them, and simulates each on a single replica, in parallel. The same spec gives the
 * same rows whatever the thread count or sharding (every workload's seed derives from the spec's seed
 * and the workload's index).
 *
 * <p>Over 400 lines because enumeration, sharding and the parallel runner share the spec's fixed scenario
 * order, which is what keeps shards reproducible.
 */
public final class Sweep {
    /** Requests drawn to measure a length shape's mean prompt and output. */
    private static final int SHAPE_DRAWS = 200_000;

    private final SweepSpec spec;
    private final Path baseDir;
    private final Profiles profiles;
    private final Map<String, double[]> shapeMeans = new ConcurrentHashMap<>();
    private final Map<String, Calibration> calibrations = new ConcurrentHashMap<>();
    private final PerfModelSpec perfModel;
    private final Double starvationBoundS;

    /**
     * @param baseDir folder that relative paths in the spec (empirical length files) resolve against
     */
    public Sweep(SweepSpec spec, Path baseDir, Profiles profiles) {
        this(spec, baseDir, profiles, null, null);
    }

    /**
     * A sweep whose replicas are priced by {@code perfModel} (a deployment's own performance model, as {@code plan
     * --deployment} verifies with) instead of the model entry's calibration for the pool's GPU (null: the latter),
     * and whose starvation bound is {@code starvationBoundS} (null: the default 60 s).
     */
    public Sweep(SweepSpec spec, Path baseDir, Profiles profiles, PerfModelSpec perfModel, Double starvationBoundS) {
        this.spec = spec;
        this.baseDir = baseDir;
        this.profiles = profiles;
        this.perfModel = perfModel;
        this.starvationBoundS = starvationBoundS;
    }

    public SweepSpec spec() {
        return spec;
    }

    /** Every scenario of the grid, in grid order. */
    public List<Scenario> grid() {
        List<double[]> triples = rateTriples(spec.rates());
        List<Scenario> out = new ArrayList<>();
        long index = 0;
        for (SweepSpec.ModelEntry model : spec.models()) {
            long workload = 0;
            for (SweepSpec.LengthShape shape : spec.lengths()) {
                for (double cv : spec.burstiness()) {
                    for (List<Integer> ranks : spec.ranks()) {
                        for (double[] rates : triples) {
                            for (double skew : spec.tierSkew()) {
                                for (int served : spec.served()) {
                                    for (SweepSpec.PoolEntry pool : spec.pools()) {
                                        for (int tp : spec.tp()) {
                                            for (int kv : spec.kvCacheLen()) {
                                                for (int slots : spec.slots()) {
                                                    if (slots <= served) {
                                                        out.add(new Scenario(
                                                                index++, workload, model, pool, shape, cv, ranks, rates,
                                                                served, slots, tp, kv, skew));
                                                    }
                                                }
                                            }
                                        }
                                    }
                                    workload++;
                                }
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /**
     * The scenarios to run: the grid, or its seeded sample of scenarios or of workload families when the
     * spec asks for one, then the shard.
     */
    public List<Scenario> scenarios(Shard shard) {
        List<Scenario> all = grid();
        if (spec.sampleFamilies() != null) {
            // a family is a workload index over the served counts (the grid numbers workloads family by family)
            int perFamily = spec.served().size();
            long families =
                    all.stream().mapToLong(s -> s.workload() / perFamily).max().orElse(-1) + 1;
            if (spec.sampleFamilies() < families) {
                int[] chosen = sample((int) families, spec.sampleFamilies(), spec.seed() ^ 0x6A09E667F3BCC909L);
                Set<Long> ids = new HashSet<>();
                for (int id : chosen) {
                    ids.add((long) id);
                }
                all = all.stream()
                        .filter(s -> ids.contains(s.workload() / perFamily))
                        .toList();
            }
        }
        if (spec.sample() != null && spec.sample() < all.size()) {
            int[] chosen = sample(all.size(), spec.sample(), spec.seed() ^ 0x5DEECE66DL);
            List<Scenario> sampled = new ArrayList<>(chosen.length);
            for (int i : chosen) {
                sampled.add(all.get(i));
            }
            all = sampled;
        }
        if (shard == null || shard.count() == 1) {
            return all;
        }
        List<Scenario> mine = new ArrayList<>();
        if (spec.stopAfterMiss() != null) {
            // whole families per shard: a family's served counts run in order, each deciding whether the next runs
            List<String> keys = new ArrayList<>(families(all).keySet());
            Set<String> kept = new HashSet<>();
            for (int i = shard.index(); i < keys.size(); i += shard.count()) {
                kept.add(keys.get(i));
            }
            for (Scenario s : all) {
                if (kept.contains(familyKey(s))) {
                    mine.add(s);
                }
            }
            return mine;
        }
        for (int i = 0; i < all.size(); i++) {
            if (i % shard.count() == shard.index()) {
                mine.add(all.get(i));
            }
        }
        return mine;
    }

    /** A workload family: one model's workload index over the served counts. */
    private String familyKey(Scenario s) {
        return s.model().model() + "/" + s.workload() / spec.served().size();
    }

    private Map<String, List<Scenario>> families(List<Scenario> scenarios) {
        Map<String, List<Scenario>> out = new LinkedHashMap<>();
        for (Scenario s : scenarios) {
            out.computeIfAbsent(familyKey(s), k -> new ArrayList<>()).add(s);
        }
        return out;
    }

    /** {@code k} distinct indices of {@code 0..n-1}, sorted: the first k of a seeded partial Fisher-Yates shuffle. */
    private static int[] sample(int n, int k, long seed) {
        int[] idx = new int[n];
        Arrays.setAll(idx, i -> i);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < k; i++) {
            int j = i + rnd.nextInt(n - i);
            int t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
        int[] chosen = Arrays.copyOf(idx, k);
        Arrays.sort(chosen);
        return chosen;
    }

    /** Every combination of three distinct rates, each sorted highest first, in list order. */
    static List<double[]> rateTriples(List<Double> rates) {
        List<double[]> out = new ArrayList<>();
        for (int i = 0; i < rates.size(); i++) {
            for (int j = i + 1; j < rates.size(); j++) {
                for (int k = j + 1; k < rates.size(); k++) {
                    double[] t = {rates.get(i), rates.get(j), rates.get(k)};
                    Arrays.sort(t);
                    out.add(new double[] {t[2], t[1], t[0]});
                }
            }
        }
        return out;
    }

    /**
     * Runs the scenarios on {@code threads} threads; {@code progress} gets each finished count (skipped
     * scenarios count as finished). With {@link SweepSpec#stopAfterMiss}, families run in parallel, each one
     * served count after another from the smallest, and the scenarios it skips are left out of the rows; the
     * rows are the same whatever the thread count.
     */
    public List<SweepRow> run(List<Scenario> scenarios, int threads, LongConsumer progress) {
        if (spec.stopAfterMiss() == null) {
            return List.copyOf(Parallel.map(scenarios, threads, this::simulate, progress::accept));
        }
        AtomicLong done = new AtomicLong();
        List<List<SweepRow>> parts = Parallel.map(
                new ArrayList<>(families(scenarios).values()),
                threads,
                family -> runFamily(family, done, progress),
                finished -> {});
        List<SweepRow> rows = new ArrayList<>();
        parts.forEach(rows::addAll);
        rows.sort(Comparator.comparingLong(SweepRow::scenario));
        return List.copyOf(rows);
    }

    /** One family's served counts in order, up to {@link SweepSpec#stopAfterMiss} counts after its first miss. */
    private List<SweepRow> runFamily(List<Scenario> family, AtomicLong done, LongConsumer progress) {
        TreeMap<Integer, List<Scenario>> byServed = new TreeMap<>();
        for (Scenario s : family) {
            byServed.computeIfAbsent(s.served(), k -> new ArrayList<>()).add(s);
        }
        List<SweepRow> rows = new ArrayList<>();
        int after = -1;
        for (List<Scenario> count : byServed.values()) {
            if (after >= spec.stopAfterMiss()) {
                progress.accept(done.addAndGet(count.size()));
                continue;
            }
            boolean meets = false;
            for (Scenario s : count) {
                SweepRow r = simulate(s);
                meets |= r.meets(spec.slo());
                rows.add(r);
                progress.accept(done.incrementAndGet());
            }
            if (after >= 0) {
                after++;
            } else if (!meets) {
                after = 0;
            }
        }
        return rows;
    }

    /** The workload a scenario runs (the same for every configuration and model). */
    public WorkloadSpec workloadSpec(Scenario s) {
        long seed = new SplittableRandom(spec.seed() * 0x9E3779B97F4A7C15L + s.workload()).nextLong();
        List<Integer> ranks = s.ranks();
        ArrivalsSpec arrivals;
        PopularitySpec popularity = null;
        if (s.cv() == 1.0 && s.skew() == 0 && s.perAdapter() == null) {
            arrivals = new ArrivalsSpec.Poisson(null, List.of(s.rates()[0], s.rates()[1], s.rates()[2]));
        } else {
            List<Double> weights = new ArrayList<>(s.served());
            for (double w : s.adapterRates()) {
                weights.add(w);
            }
            arrivals = s.cv() == 1.0
                    ? new ArrivalsSpec.Poisson(s.requestRate(), null)
                    : s.cv() == 0
                            ? new ArrivalsSpec.Constant(s.requestRate())
                            : new ArrivalsSpec.Gamma(s.requestRate(), s.cv());
            popularity = new PopularitySpec.Weights(weights);
        }
        return new WorkloadSpec(
                "sweep-workload-" + s.workload(),
                null,
                seed,
                spec.windowS(),
                null,
                arrivals,
                new AdaptersSpec(s.served(), ranks, null, popularity, null, null),
                s.lengths().lengths(),
                null,
                null);
    }

    /** Simulates one scenario into its row. */
    public SweepRow simulate(Scenario s) {
        return simulate(s, null);
    }

    /**
     * Simulates one scenario's configuration on {@code workload} (null: the scenario's own, {@link #workloadSpec})
     * into its row; the row describes the scenario.
     */
    public SweepRow simulate(Scenario s, WorkloadSpec workload) {
        double[] means = shapeMeans(s.lengths());
        double cost = s.tp() * s.pool().costPerGpuHour();
        ResolvedReplica replica;
        try {
            replica = resolve(s);
        } catch (InsufficientGpuMemoryException | SpecException e) {
            return row(s, means, cost, false, oneLine(e.getMessage()), 0, null, -1);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        WorkloadSpec ws = workload != null ? workload : workloadSpec(s);
        RunResult result;
        try (WorkloadGenerator g = new WorkloadGenerator(ws, baseDir)) {
            Map<String, Integer> ranks = new HashMap<>();
            for (Adapter a : g.adapters()) {
                ranks.put(a.id(), a.rank());
            }
            RunOptions options =
                    new RunOptions((long) (spec.windowS() * 1e9), false, false, 16, true, spec.stopWhenStarving());
            result = new ReplicaSimulator(replica, ranks).run(g, options);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return row(
                s,
                means,
                cost,
                true,
                "",
                replica.scheduler().kvCacheTokens(),
                result.summary(),
                result.stoppedEarly() ? Math.round(result.stoppedNs() / 1e6) / 1e3 : 0);
    }

    /**
     * The replica a scenario's configuration runs on: the spec's replica settings with the scenario's slots,
     * tp and KV setting, priced by the model's calibration for the pool's GPU (uncalibrated on others), or by the
     * sweep's own performance model when it has one.
     * Throws {@link InsufficientGpuMemoryException} or {@link SpecException} when it does not start.
     */
    public ResolvedReplica resolve(Scenario s) throws IOException {
        int maxRank =
                Math.max(s.ranks().get(0), Math.max(s.ranks().get(1), s.ranks().get(2)));
        ReplicaSpec b = spec.replica();
        ReplicaSpec r = new ReplicaSpec(
                s.tp(),
                s.kvCacheLen() == 0 ? null : s.kvCacheLen(),
                b.gpuMemoryUtilization(),
                s.slots(),
                Math.max(b.maxCpuAdapters(), s.served()),
                maxRank,
                b.maxNumSeqs(),
                b.maxNumBatchedTokens(),
                b.blockSize(),
                b.chunkedPrefill(),
                b.prefixCaching(),
                b.maxModelLen(),
                b.adapterLoad(),
                b.weightDtype(),
                b.kvCacheDtype(),
                b.speculative());
        PerfModelSpec perf = perfModel != null
                ? perfModel
                : new PerfModelSpec.Roofline(calibrationFor(s.model(), s.pool().gpu()));
        return Deployments.resolve(
                new DeploymentSpec("sweep", s.model().model(), s.pool().gpu(), r, perf, null), profiles);
    }

    /** The message on one line (the CSV writer quotes a note with commas, which stay as written). */
    private static String oneLine(String m) {
        return m == null ? "" : m.replace('\n', ' ');
    }

    private SweepRow row(
            Scenario s,
            double[] means,
            double cost,
            boolean fits,
            String note,
            long kvTokens,
            RunSummary m,
            double stoppedAtS) {
        // a skewed family's rows describe it as a workload spec would be described (Scenario#described)
        double[] d = s.described();
        List<Integer> rk = s.ranks();
        return new SweepRow(
                s.index(),
                s.workload(),
                s.model().model(),
                s.pool().name(),
                s.pool().gpu(),
                s.tp(),
                s.kvCacheLen(),
                s.served(),
                s.slots(),
                d[0],
                d[1],
                d[2],
                rk.get(0),
                rk.get(1),
                rk.get(2),
                s.lengths().name(),
                means[0],
                means[1],
                s.cv(),
                d[3],
                fits,
                note,
                kvTokens,
                cost,
                m == null ? 0 : m.offered().requestsPerS(),
                m == null ? 0 : m.offered().totalTokensPerS(),
                m == null ? 0 : m.achieved().totalTokensPerS(),
                m != null && m.starving(),
                stoppedAtS,
                m == null ? 0 : m.ttft().p50Ms(),
                m == null ? 0 : m.ttft().p90Ms(),
                m == null ? 0 : m.ttft().p99Ms(),
                m == null ? 0 : m.itl().p50Ms(),
                m == null ? 0 : m.itl().p99Ms(),
                m == null || m.requestsArrived() == 0 ? 0 : (double) m.requestsTimedOut() / m.requestsArrived(),
                m == null ? 0 : m.starvedRequests(),
                m == null ? 0 : m.preemptions(),
                m == null ? 0 : m.adapterLoads());
    }

    private String calibrationFor(SweepSpec.ModelEntry model, String gpu) {
        for (String name : model.calibrations()) {
            Calibration c = calibrations.computeIfAbsent(name, n -> {
                try {
                    return Deployments.calibration(n);
                } catch (IOException e) {
                    throw new SpecException("models.calibrations", "'" + n + "' cannot be read: " + e.getMessage());
                }
            });
            if (c.gpu().equals(gpu) || c.gpu().equals(profiles.gpu(gpu).name())) {
                return name;
            }
        }
        return null;
    }

    /** Mean prompt and output tokens of a length shape, from a fixed-seed sample of its draws. */
    public double[] shapeMeans(SweepSpec.LengthShape shape) {
        return shapeMeans.computeIfAbsent(shape.name(), n -> measureLengths(shape, baseDir));
    }

    static double[] measureLengths(SweepSpec.LengthShape shape, Path baseDir) {
        WorkloadSpec ws = new WorkloadSpec(
                "lengths-" + shape.name(),
                null,
                7L,
                null,
                (long) SHAPE_DRAWS,
                new ArrivalsSpec.Poisson(1.0, null),
                new AdaptersSpec(0, null, null, null, null, null),
                shape.lengths(),
                null,
                null);
        double prompt = 0;
        double output = 0;
        long n = 0;
        try (WorkloadGenerator g = new WorkloadGenerator(ws, baseDir)) {
            Request r;
            while ((r = g.next()) != null) {
                prompt += r.promptTokens();
                output += r.outputTokens();
                n++;
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new double[] {Math.round(prompt / n * 100) / 100.0, Math.round(output / n * 100) / 100.0};
    }

    /** Shard {@code index} of {@code count} (0-based): every count-th scenario from the index. */
    public record Shard(int index, int count) {
        public Shard {
            if (count < 1 || index < 0 || index >= count) {
                throw new IllegalArgumentException("shard must be K/N with 0 <= K < N, got " + index + "/" + count);
            }
        }

        /** Parses "K/N". */
        public static Shard parse(String text) {
            String[] parts = text == null ? new String[0] : text.split("/");
            try {
                if (parts.length == 2) {
                    return new Shard(Integer.parseInt(parts[0].trim()), Integer.parseInt(parts[1].trim()));
                }
            } catch (NumberFormatException e) {
                // fall through to the message below
            }
            throw new IllegalArgumentException("--shard must be K/N with 0 <= K < N (e.g. 3/16), got '" + text + "'");
        }

        @Override
        public String toString() {
            return index + "/" + count;
        }
    }
}
