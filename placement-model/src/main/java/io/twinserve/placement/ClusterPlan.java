package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.capacity.CapacitySearch;
import io.twinserve.twin.capacity.CapacitySpec;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.cluster.PoolSpec;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.slo.SloVerdict;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * The placement model's answer to a capacity question ({@link CapacitySpec}: a workload at a target rate,
 * pools, an SLO): for each pool of the search whose GPU the model was trained on, the adapters one GPU
 * serves and the replicas all of them need, and the cheapest; {@link #verify} then asks the twin the same
 * question {@code twinserve capacity} asks of the plan's configuration (does this many replicas sustain
 * the target rate under the SLO?) and walks the replica count to the fewest that do, so that the verified
 * answer is the one capacity search gives for that pool, slot count and router.
 *
 * <p>The model knows one replica; a cluster of R replicas is read as R replicas that each serve a share
 * of the adapters, which is what an adapter-affinity router makes of it. Other routers spread every
 * adapter over every replica: there the twin's verification is the answer, not the trees'.
 */
public final class ClusterPlan {
    private ClusterPlan() {}

    /**
     * One pool's answer.
     *
     * @param plan the planner's plan for one replica on this pool (null when the model does not know the GPU)
     * @param replicas replicas all the workload's adapters need at the plan's adapters per GPU
     * @param note why the pool has no plan, or null
     */
    public record PoolPlan(
            String pool,
            String gpu,
            double costPerGpuHour,
            Planner.Plan plan,
            int replicas,
            double costPerHour,
            String note) {

        /** What {@code replicas} replicas of this pool's plan cost per hour. */
        public double costPerHour(int replicas) {
            return cost(replicas, plan.tp(), costPerGpuHour);
        }
    }

    /** The cost per hour of {@code replicas} replicas of {@code tp} GPUs, as capacity search prices a candidate. */
    static double cost(int replicas, int tp, double costPerGpuHour) {
        return (double) replicas * tp * costPerGpuHour;
    }

    /** The answers of every pool of the search, the cheapest first among those planned. */
    public record Answer(double targetScale, Planner.Request request, List<PoolPlan> pools, PoolPlan best) {}

    /** One twin run of the plan's configuration with a replica count, at the target rate. */
    public record Probe(
            int replicas,
            double costPerHour,
            boolean meets,
            List<String> missed,
            double offeredRps,
            double throughputTps,
            double ttftP90Ms) {}

    /**
     * The twin's answer for the best pool: the probes made and the fewest replicas among them that meet the
     * SLO at the target rate (null when none of the budget does).
     */
    public record Verification(String router, List<Probe> probes, Integer fewestReplicas, boolean planAgrees) {}

    /**
     * Plans {@code request} (the capacity spec's workload at rate scale 1) for every pool of the spec's search
     * at its target rate scale.
     */
    public static Answer plan(Planner planner, CapacitySpec spec, Planner.Request request) {
        double scale = spec.rate().targetScale();
        Planner.Request at = request.scaled(scale);
        List<String> names = spec.search().pools().isEmpty()
                ? spec.pools().stream().map(PoolSpec::name).toList()
                : spec.search().pools();
        List<PoolPlan> out = new ArrayList<>();
        for (String name : names) {
            PoolSpec pool = spec.pools().stream()
                    .filter(p -> p.name().equals(name))
                    .findFirst()
                    .orElseThrow();
            String trained = planner.trainedPoolFor(pool.gpu(), spec.model());
            if (trained == null) {
                out.add(new PoolPlan(
                        pool.name(),
                        pool.gpu(),
                        pool.costPerGpuHour(),
                        null,
                        0,
                        0,
                        "the placement model was not trained on " + pool.gpu() + " for " + spec.model() + " (it knows "
                                + String.join(", ", planner.trainedGpus(spec.model()))
                                + "): twinserve capacity answers for it with the twin"));
                continue;
            }
            Planner.Request onPool = at.withPools(List.of(trained));
            Planner.Plan p = planner.plan(onPool);
            String note = null;
            if (!spec.search().tp().contains(p.tp())) {
                // the trees' tp is not one the question allows: the cheapest plan at the search's tps the model was
                // trained at on this GPU, as capacity would search only those
                java.util.SortedSet<Integer> trainedTps = planner.model().trainedTp(spec.model(), trained);
                Planner.Plan allowed = null;
                for (int tp : spec.search().tp()) {
                    if (!trainedTps.contains(tp)) {
                        continue;
                    }
                    Planner.Plan q = planner.planAtTp(onPool, trained, tp);
                    if (allowed == null
                            || cost(q.replicas(), q.tp(), pool.costPerGpuHour())
                                    < cost(allowed.replicas(), allowed.tp(), pool.costPerGpuHour())) {
                        allowed = q;
                    }
                }
                if (allowed == null) {
                    // capacity searches this pool only at tps the trees know nothing of: no plan to offer for it
                    out.add(new PoolPlan(
                            pool.name(),
                            pool.gpu(),
                            pool.costPerGpuHour(),
                            null,
                            0,
                            0,
                            "the search's tp " + spec.search().tp() + " on " + pool.gpu()
                                    + " are none the placement model was trained at there (tp " + trainedTps
                                    + "): twinserve capacity answers for it with the twin"));
                    continue;
                }
                note = "tp " + p.tp() + " (the trees') is not among the search's tp "
                        + spec.search().tp() + ": planned at tp " + allowed.tp()
                        + ", the cheapest of those the model was trained at";
                p = allowed;
            }
            // the search's slot counts, a null being the replica's own max_adapters (as capacity reads it)
            List<Integer> slotChoices = spec.search().maxAdapters().stream()
                    .map(n -> n == null ? spec.replica().maxAdapters() : n)
                    .distinct()
                    .sorted()
                    .toList();
            int planned = p.maxAdapters();
            if (!slotChoices.isEmpty() && !slotChoices.contains(planned)) {
                // the fewest at or above the trees' count, else the most the search allows
                int slots = slotChoices.stream()
                        .filter(n -> n >= planned)
                        .findFirst()
                        .orElse(slotChoices.getLast());
                String slotNote = planned + " slots (the trees') are not among the search's max_adapters "
                        + slotChoices + ": planned on " + slots
                        + (slots < planned ? ", the most it allows (--verify checks the replicas they need)" : "");
                note = note == null ? slotNote : note + "; " + slotNote;
                // the throughput and SLO vote at the slots planned, not the trees' own count
                p = planner.repriced(p.withConfiguration(p.servedPerGpu(), slots));
            }
            out.add(new PoolPlan(
                    pool.name(),
                    pool.gpu(),
                    pool.costPerGpuHour(),
                    p,
                    p.replicas(),
                    cost(p.replicas(), p.tp(), pool.costPerGpuHour()),
                    note));
        }
        PoolPlan best = out.stream()
                .filter(p -> p.plan() != null)
                .min(Comparator.comparingDouble((PoolPlan p) -> p.costPerHour()).thenComparingInt(PoolPlan::replicas))
                .orElse(null);
        return new Answer(scale, at, List.copyOf(out), best);
    }

    /**
     * The router a verification runs: the search's adapter-affinity router when it lists one (the reading the
     * model's replicas fit), else its first.
     */
    public static RouterSpec router(CapacitySpec spec) {
        return spec.search().routers().stream()
                .filter(r -> r instanceof RouterSpec.AdapterAffinity)
                .findFirst()
                .orElse(spec.search().routers().getFirst());
    }

    /**
     * Runs the best pool's configuration through the twin at the target rate, as capacity search probes a
     * candidate: from the planned replica count down while it meets the SLO, or up while it misses, at most
     * {@code budget} runs; the fewest replicas that meet it is the verified answer.
     */
    public static Verification verify(Answer answer, CapacitySearch search, CapacitySpec spec, int budget)
            throws IOException {
        PoolPlan best = answer.best();
        if (best == null) {
            throw new IllegalArgumentException(
                    "no pool of the search has a plan: the placement model knows none of their GPUs");
        }
        RouterSpec router = router(spec);
        SloSpec slo = search.slo();
        Planner.Plan p = best.plan();
        List<Probe> probes = new ArrayList<>();
        Probe first = probe(search, slo, best, router, best.replicas(), answer.targetScale());
        probes.add(first);
        Integer fewest = first.meets() ? best.replicas() : null;
        int step = first.meets() ? -1 : 1;
        for (int r = best.replicas() + step; probes.size() < budget && r >= 1; r += step) {
            Probe pr = probe(search, slo, best, router, r, answer.targetScale());
            probes.add(pr);
            if (pr.meets()) {
                fewest = r;
                if (step > 0) {
                    break;
                }
            } else if (step < 0) {
                break;
            }
        }
        return new Verification(
                RouterSpec.typeName(router),
                List.copyOf(probes),
                fewest,
                fewest != null && fewest == best.replicas() && p != null);
    }

    private static Probe probe(
            CapacitySearch search, SloSpec slo, PoolPlan best, RouterSpec router, int replicas, double scale)
            throws IOException {
        Planner.Plan p = best.plan();
        CapacitySearch.Candidate c = new CapacitySearch.Candidate(
                best.pool(),
                best.gpu(),
                p.tp(),
                replicas,
                p.maxAdapters(),
                p.kvCacheLen() == 0 ? null : p.kvCacheLen(),
                router,
                cost(replicas, p.tp(), best.costPerGpuHour()));
        ClusterSummary.DeploymentSummary d = search.probe(c, scale);
        SloVerdict v = SloVerdict.of(slo, d, true);
        return new Probe(
                replicas,
                c.costPerHour(),
                v.met(),
                v.missed().stream().map(SloVerdict.Check::describe).toList(),
                d.offered().requestsPerS(),
                d.achieved().totalTokensPerS(),
                d.ttft().p90Ms());
    }
}
