package io.twinserve.twin.capacity;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.autoscale.AutoscalerSpec;
import io.twinserve.twin.cluster.ClusterDeploymentSpec;
import io.twinserve.twin.cluster.ClusterResult;
import io.twinserve.twin.cluster.ClusterSimulator;
import io.twinserve.twin.cluster.ClusterSpec;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.cluster.PoolSpec;
import io.twinserve.twin.cluster.ReplicaBounds;
import io.twinserve.twin.cluster.ResolvedCluster;
import io.twinserve.twin.cluster.TrafficSpec;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.exec.Parallel;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.slo.SloVerdict;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Finds, for a workload and a set of pools, the cheapest deployments that meet an SLO, and for every
 * candidate deployment the highest request rate it sustains.
 *
 * <p>Each candidate (pool, tp, replicas, max_adapters, kv_cache_len, router) is resolved once; a
 * candidate that cannot be placed is reported with the reason. Its sustainable rate is found by binary
 * search over a geometric ladder of rate scales (each probe a cluster run of the scaled workload), on
 * the assumption that a deployment that misses the SLO at one rate misses it at every higher rate. The
 * ranking puts the candidates that sustain the target rate first, cheapest first; the Pareto set is the
 * candidates no other beats on both cost and sustainable rate.
 */
public final class CapacitySearch {
    private static final ObjectMapper JSON = WorkloadSpecs.configure(new ObjectMapper());

    private final CapacitySpec spec;
    private final Path baseDir;
    private final Profiles profiles;
    private final SloSpec slo;

    /**
     * @param baseDir the folder the workload path is relative to
     * @throws SpecException when the workload spec's own {@code slo} block is invalid
     */
    public CapacitySearch(CapacitySpec spec, Path baseDir, Profiles profiles) throws IOException {
        this.spec = spec;
        this.baseDir = baseDir;
        this.profiles = profiles;
        Path workload = baseDir.resolve(spec.workload());
        SloSpec workloadSlo = ClusterTraffic.isYaml(workload) && Files.isRegularFile(workload)
                ? WorkloadSpecs.load(workload).slo()
                : null;
        this.slo = SloSpec.resolve(workloadSlo, spec.slo());
    }

    /** The objective probes are judged by: the defaults, the workload spec's {@code slo}, then this spec's. */
    public SloSpec slo() {
        return slo;
    }

    /** One deployment to try. {@code maxAdapters} and {@code kvCacheLen} null: the replica's own. */
    public record Candidate(
            String pool,
            String gpu,
            int tp,
            int replicas,
            Integer maxAdapters,
            Integer kvCacheLen,
            RouterSpec router,
            double costPerHour) {}

    /** One run of a candidate at a rate scale. */
    public record Probe(double scale, double requestsPerS, List<String> violations) {
        public boolean meets() {
            return violations.isEmpty();
        }
    }

    /**
     * What the search found for one candidate: the highest rate scale on the ladder that meets the SLO
     * (null when not even the lowest does, or when the candidate cannot be placed: then {@code error}), the
     * run at that scale, and every probe made.
     */
    public record CandidateResult(
            Candidate candidate,
            String error,
            Double sustainableScale,
            Double sustainableRequestsPerS,
            boolean meetsTarget,
            boolean pareto,
            ClusterSummary.DeploymentSummary atSustainable,
            List<Probe> probes) {

        CandidateResult withPareto(boolean p) {
            return new CandidateResult(
                    candidate, error, sustainableScale, sustainableRequestsPerS, meetsTarget, p, atSustainable, probes);
        }
    }

    /** The ranked candidates. */
    public record Result(String name, double targetScale, List<CandidateResult> candidates) {}

    /** How many candidates {@code spec}'s search space has (the size of {@link #candidates}), without building them. */
    public static long count(CapacitySpec spec) {
        CapacitySpec.Space s = spec.search();
        long pools = s.pools().isEmpty() ? spec.pools().size() : s.pools().size();
        return pools
                * s.tp().size()
                * s.replicas().size()
                * s.maxAdapters().size()
                * s.kvCacheLen().size()
                * s.routers().size();
    }

    /** The cartesian product of the search space, in the spec's order. */
    public List<Candidate> candidates() {
        List<Candidate> out = new ArrayList<>();
        CapacitySpec.Space s = spec.search();
        List<String> pools =
                s.pools().isEmpty() ? spec.pools().stream().map(PoolSpec::name).toList() : s.pools();
        for (String poolName : pools) {
            PoolSpec pool = pool(poolName);
            for (int tp : s.tp()) {
                for (int replicas : s.replicas()) {
                    for (Integer maxAdapters : s.maxAdapters()) {
                        for (Integer kv : s.kvCacheLen()) {
                            for (RouterSpec router : s.routers()) {
                                out.add(new Candidate(
                                        pool.name(),
                                        pool.gpu(),
                                        tp,
                                        replicas,
                                        maxAdapters,
                                        kv,
                                        router,
                                        (double) replicas * tp * pool.costPerGpuHour()));
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Evaluates every candidate on {@code threads} threads and ranks them; {@code progress} hears each one done. */
    public Result run(int threads, IntConsumer progress) throws IOException, InterruptedException {
        List<Candidate> candidates = candidates();
        List<CandidateResult> results;
        try {
            results = new ArrayList<>(Parallel.map(candidates, threads, this::evaluate, progress));
        } catch (UncheckedIOException u) {
            throw u.getCause();
        }
        return new Result(spec.name(), spec.rate().targetScale(), rank(results));
    }

    /** Finds a candidate's sustainable rate by binary search over the ladder. */
    public CandidateResult evaluate(Candidate c) {
        ResolvedCluster cluster;
        try {
            cluster = Clusters.resolve(clusterFor(c), profiles, baseDir);
        } catch (SpecException | InsufficientGpuMemoryException e) {
            return new CandidateResult(c, e.getMessage(), null, null, false, false, null, List.of());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        double[] ladder = spec.rate().ladder();
        List<Probe> probes = new ArrayList<>();
        ClusterSummary.DeploymentSummary best = null;
        int lo = -1;
        int hi = ladder.length;
        // the lowest rung first: a candidate that misses even that has no sustainable rate
        while (hi - lo > 1) {
            int mid = lo < 0 ? 0 : (lo + hi) >>> 1;
            ClusterSummary.DeploymentSummary d = run(cluster, ladder[mid]);
            Probe p = new Probe(
                    ladder[mid],
                    d.offered().requestsPerS(),
                    SloVerdict.of(slo, d, true).missed().stream()
                            .map(SloVerdict.Check::describe)
                            .toList());
            probes.add(p);
            if (p.meets()) {
                lo = mid;
                best = d;
            } else {
                hi = mid;
                if (lo < 0) {
                    break;
                }
            }
        }
        if (lo < 0) {
            return new CandidateResult(c, null, null, null, false, false, null, List.copyOf(probes));
        }
        double scale = ladder[lo];
        return new CandidateResult(
                c,
                null,
                scale,
                best.offered().requestsPerS(),
                scale >= spec.rate().targetScale() * (1 - 1e-9),
                false,
                best,
                List.copyOf(probes));
    }

    /** One probe: the candidate at a rate scale. */
    public ClusterSummary.DeploymentSummary probe(Candidate c, double scale) throws IOException {
        return run(Clusters.resolve(clusterFor(c), profiles, baseDir), scale);
    }

    private ClusterSummary.DeploymentSummary run(ResolvedCluster cluster, double scale) {
        try (ClusterTraffic traffic = ClusterTraffic.open(cluster.spec(), baseDir, scale, spec.seed())) {
            Long window = spec.windowS() != null ? Long.valueOf((long) (spec.windowS() * 1e9)) : traffic.windowNs();
            // every arrival of the window is followed to its end (answer or 408), so that a probe's latencies do
            // not depend on where the window cuts
            RunOptions options = RunOptions.defaults().withWindowNs(window).withDrain(true);
            ClusterResult r = new ClusterSimulator(cluster).run(traffic.sources(), options);
            return r.summary().deployments().get(0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The one-pool, one-deployment cluster of a candidate. */
    public ClusterSpec clusterFor(Candidate c) {
        ReplicaSpec replica = replicaFor(c);
        ClusterDeploymentSpec d = new ClusterDeploymentSpec(
                "candidate",
                spec.model(),
                replica,
                spec.perfModel(),
                List.of(c.pool()),
                ReplicaBounds.of(c.replicas()),
                c.router(),
                new AutoscalerSpec.Fixed(),
                spec.maxTtftMs(),
                null);
        TrafficSpec t = new TrafficSpec(null, spec.workload(), 1.0, spec.adapterRank());
        return new ClusterSpec(spec.name(), List.of(pool(c.pool())), List.of(d), List.of(t));
    }

    private ReplicaSpec replicaFor(Candidate c) {
        ObjectNode tree = JSON.valueToTree(spec.replica());
        tree.put("tp", c.tp());
        if (c.maxAdapters() != null) {
            tree.put("max_adapters", c.maxAdapters());
            // the host tier holds at least the slots' adapters
            tree.put(
                    "max_cpu_adapters", Math.max(c.maxAdapters(), spec.replica().maxCpuAdapters()));
        }
        if (c.kvCacheLen() != null) {
            tree.put("kv_cache_len", c.kvCacheLen());
        }
        return JSON.convertValue(tree, ReplicaSpec.class);
    }

    private PoolSpec pool(String name) {
        return spec.pools().stream()
                .filter(p -> p.name().equals(name))
                .findFirst()
                .orElseThrow();
    }

    /**
     * Candidates that sustain the target first, cheapest first (then by sustainable rate); then the others
     * by sustainable rate; then those that cannot be placed. Marks the Pareto set (cost against rate).
     */
    static List<CandidateResult> rank(List<CandidateResult> results) {
        List<CandidateResult> marked = new ArrayList<>();
        for (CandidateResult r : results) {
            marked.add(r.withPareto(paretoOptimal(r, results)));
        }
        Comparator<CandidateResult> order = Comparator.comparingInt(
                        (CandidateResult r) -> r.error() != null ? 2 : r.meetsTarget() ? 0 : 1)
                .thenComparingDouble(r -> r.meetsTarget() ? r.candidate().costPerHour() : 0)
                .thenComparingDouble(r -> r.sustainableRequestsPerS() == null ? 0 : -r.sustainableRequestsPerS())
                .thenComparingDouble(r -> r.candidate().costPerHour());
        marked.sort(order);
        return List.copyOf(marked);
    }

    private static boolean paretoOptimal(CandidateResult r, List<CandidateResult> all) {
        if (r.sustainableRequestsPerS() == null) {
            return false;
        }
        double cost = r.candidate().costPerHour();
        double rate = r.sustainableRequestsPerS();
        for (CandidateResult o : all) {
            if (o == r || o.sustainableRequestsPerS() == null) {
                continue;
            }
            double oc = o.candidate().costPerHour();
            double orate = o.sustainableRequestsPerS();
            if (oc <= cost && orate >= rate && (oc < cost || orate > rate)) {
                return false;
            }
        }
        return true;
    }
}
