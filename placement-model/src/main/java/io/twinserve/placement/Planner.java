package io.twinserve.placement;

import com.fasterxml.jackson.annotation.JsonIgnore;
import io.twinserve.traces.spec.LengthsSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.perf.PerfModelSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Turns a workload into a configuration with a trained {@link PlacementModel}: how many adapters one
 * GPU serves without starving, its slot count, its pool, tp and KV setting, and the throughput to
 * expect, with the tree rules that led there; {@link PlanTwin} (from {@link #twin}) checks a plan with a twin run.
 *
 * <p>Over 400 lines because it is the planning API's one entry (its request and plan records are nested types
 * every caller names as {@code Planner.X}) and the trees' side of a plan (placement, the served count, the slots and
 * their margin, the SLO forest's repair); the searches live in {@link PlanSearch}, the twin's side in {@link
 * PlanTwin}, replica shares of a spec in {@link ReplicaShares}, client-aware rates in {@link ClientLoad}.
 */
public final class Planner {
    private final PlacementModel model;
    private final SweepSpec trainingSpec;
    /** The replica settings the twin runs plans with (null: the training spec's). */
    private final ReplicaSpec twinReplica;
    /** The performance model the twin prices plans with (null: the training spec's calibration for the pool). */
    private final PerfModelSpec twinPerf;
    /** The starvation bound of the twin's runs (null: the default). */
    private final Double twinStarvationBoundS;
    /**
     * The pools a plan that names none may use: the main grid's (its first dataset's spec's, in its order) when the
     * model has trees of other GPUs, which are planned when named; else every pool it knows, as before.
     */
    private final List<String> defaultPools;

    public Planner(PlacementModel model) {
        this.model = model;
        this.trainingSpec = trainingSpec(model);
        this.defaultPools = defaultPools(model);
        this.twinReplica = null;
        this.twinPerf = null;
        this.twinStarvationBoundS = null;
    }

    private static List<String> defaultPools(PlacementModel model) {
        List<String> known = model.meta().categories().getOrDefault("pool", List.of());
        if (model.specs().isEmpty() || !model.hasOtherGpus()) {
            return known;
        }
        List<String> main = model.specs().getFirst().pools().stream()
                .map(SweepSpec.PoolEntry::name)
                .filter(known::contains)
                .toList();
        return main.isEmpty() ? known : main;
    }

    /**
     * The spec of the model's first dataset, with the pools of every other one it was trained on (a grid of other GPUs
     * beside the main one; their replica settings and calibrations are the first's), or null when the model records
     * none.
     */
    private static SweepSpec trainingSpec(PlacementModel model) {
        if (model.specs().isEmpty()) {
            return null;
        }
        SweepSpec spec = model.specs().getFirst();
        Map<String, SweepSpec.PoolEntry> pools = new LinkedHashMap<>();
        for (SweepSpec other : model.specs()) {
            for (SweepSpec.PoolEntry p : other.pools()) {
                pools.putIfAbsent(p.name(), p);
            }
        }
        return pools.size() == spec.pools().size() ? spec : spec.withPools(List.copyOf(pools.values()));
    }

    private Planner(Planner p, ReplicaSpec replica, PerfModelSpec perf, Double starvationBoundS) {
        this.model = p.model;
        this.trainingSpec = p.trainingSpec;
        this.defaultPools = p.defaultPools;
        this.twinReplica = replica;
        this.twinPerf = perf;
        this.twinStarvationBoundS = starvationBoundS;
    }

    /**
     * This planner with its twin runs ({@link PlanTwin#verify}, the searches, {@link PlanTwin#fitted}, {@link PlanTwin#replica}) on a
     * deployment's own replica settings (prefix caching, batch limits, memory share, dtypes; the plan still sets the
     * slots, rank, tp and KV), performance model (a deployment without one is priced by the uncalibrated roofline, as
     * {@code what-if} prices it) and starvation bound (null: the default), instead of the training grid's. The trees'
     * predictions stay those of the training settings, and the upward search is no longer held to the slot counts
     * that started in training (the deployment's memory decides, in the twin).
     */
    public Planner onDeployment(ReplicaSpec replica, PerfModelSpec perf, Double starvationBoundS) {
        return new Planner(this, replica, perf, starvationBoundS);
    }

    /** Whether the twin runs this planner's plans with a deployment's settings ({@link #onDeployment}). */
    public boolean onDeployment() {
        return twinReplica != null;
    }

    /** The replica settings the twin runs this planner's plans with: a deployment's, or the training spec's. */
    public ReplicaSpec twinReplica() {
        return twinReplica != null ? twinReplica : trainingSpec == null ? null : trainingSpec.replica();
    }

    public PlacementModel model() {
        return model;
    }

    /**
     * A workload to plan for.
     *
     * @param adapters adapters the workload serves in all
     * @param rates per-adapter rates of its three popularity tiers (requests/s), highest first
     * @param ranks a rank triple (round-robin over the adapters)
     * @param pools pools the plan may use (null or empty: any the model knows)
     * @param lengths the request lengths (for {@link PlanTwin#verify}); may be null
     * @param skew popularity within each tier ({@link SweepSpec#tierSkew}; 0: even)
     * @param perAdapter each adapter's rate, busiest first, when the workload gave them (a spec or a trace); a
     *     skewed workload's verification runs a share of these rather than the tiers' profile. May be null
     * @param replicaWorkload the workload one replica serving n adapters sees, when the request comes from a
     *     workload spec ({@link ReplicaShares#of}): what {@link PlanTwin#verify} and its searches run, so
     *     that they check the plan on the user's own workload (its arrivals, popularity, sessions, client) rather
     *     than on the description the trees read. May be null
     */
    public record Request(
            String model,
            int adapters,
            double[] rates,
            int[] ranks,
            double promptMean,
            double outputMean,
            double cv,
            List<String> pools,
            Labels.Objective objective,
            LengthsSpec lengths,
            double skew,
            @JsonIgnore double[] perAdapter,
            @JsonIgnore ReplicaWorkload replicaWorkload) {

        /** A workload whose tiers spread their traffic evenly over their adapters. */
        public Request(
                String model,
                int adapters,
                double[] rates,
                int[] ranks,
                double promptMean,
                double outputMean,
                double cv,
                List<String> pools,
                Labels.Objective objective,
                LengthsSpec lengths) {
            this(model, adapters, rates, ranks, promptMean, outputMean, cv, pools, objective, lengths, 0, null, null);
        }

        /** A workload described by its tiers and their skew alone. */
        public Request(
                String model,
                int adapters,
                double[] rates,
                int[] ranks,
                double promptMean,
                double outputMean,
                double cv,
                List<String> pools,
                Labels.Objective objective,
                LengthsSpec lengths,
                double skew) {
            this(
                    model,
                    adapters,
                    rates,
                    ranks,
                    promptMean,
                    outputMean,
                    cv,
                    pools,
                    objective,
                    lengths,
                    skew,
                    null,
                    null);
        }

        /** This request limited to {@code onlyPools}, with no workload spec behind it (a plan per pool). */
        public Request withPools(List<String> onlyPools) {
            return new Request(
                    model,
                    adapters,
                    rates,
                    ranks,
                    promptMean,
                    outputMean,
                    cv,
                    onlyPools,
                    objective,
                    lengths,
                    skew,
                    perAdapter,
                    null);
        }

        /** This request with every rate multiplied by {@code scale} (no workload spec behind it: it is not the spec's). */
        public Request scaled(double scale) {
            return withRates(scale, null);
        }

        /**
         * This request with every rate multiplied by {@code scale}, from the same workload: what a client that
         * answers to the server (closed-loop users, a cap on outstanding requests) sends ({@link ClientLoad}); its
         * verification still runs the workload, whose client throttles itself.
         */
        public Request throttled(double scale) {
            return withRates(scale, replicaWorkload);
        }

        private Request withRates(double scale, ReplicaWorkload behind) {
            double[] per = perAdapter == null
                    ? null
                    : Arrays.stream(perAdapter).map(x -> x * scale).toArray();
            return new Request(
                    model,
                    adapters,
                    new double[] {rates[0] * scale, rates[1] * scale, rates[2] * scale},
                    ranks,
                    promptMean,
                    outputMean,
                    cv,
                    pools,
                    objective,
                    lengths,
                    skew,
                    per,
                    behind);
        }

        /** This request with its description changed ({@code --feature}): the workload it came from no longer matches. */
        public Request described(
                int adapters,
                double[] rates,
                double promptMean,
                double outputMean,
                double cv,
                double skew,
                boolean popularityChanged) {
            return new Request(
                    model,
                    adapters,
                    rates,
                    ranks,
                    promptMean,
                    outputMean,
                    cv,
                    pools,
                    objective,
                    lengths,
                    skew,
                    popularityChanged ? null : perAdapter,
                    null);
        }
    }

    /** The sweep spec the model was trained on (its pools, calibrations and replica settings), or null. */
    public SweepSpec trainingSpec() {
        return trainingSpec;
    }

    /**
     * Whether {@code modelName} was trained on {@code pool} (a model of several grids knows its other GPUs for the
     * models their grid had); true when the model records no slot capacities to tell.
     */
    public boolean trainedOn(String modelName, String pool) {
        return model.meta().slotCapacity() == null
                || !model.trainedTp(modelName, pool).isEmpty();
    }

    /** The trained pool whose GPU is {@code gpu} (by profile name) for {@code modelName}, or null. */
    public String trainedPoolFor(String gpu, String modelName) {
        for (SweepSpec.PoolEntry p : trainedPools(modelName)) {
            if (p.gpu().equals(gpu)) {
                return p.name();
            }
        }
        return null;
    }

    /** The trained pool whose GPU is {@code gpu} (by profile name), for any model, or null. */
    public String trainedPoolFor(String gpu) {
        return trainedPoolFor(gpu, null);
    }

    /** The GPUs of the trained pools {@code modelName} was trained on. */
    public List<String> trainedGpus(String modelName) {
        return trainedPools(modelName).stream().map(SweepSpec.PoolEntry::gpu).toList();
    }

    /** The training spec's pools the model was trained on, those of {@code modelName} (null: of any model). */
    private List<SweepSpec.PoolEntry> trainedPools(String modelName) {
        if (trainingSpec == null) {
            return List.of();
        }
        List<String> trained = model.meta().categories().getOrDefault("pool", List.of());
        return trainingSpec.pools().stream()
                .filter(p -> trained.contains(p.name()) && (modelName == null || trainedOn(modelName, p.name())))
                .toList();
    }

    /** The workload one replica serving {@code served} adapters sees, over a window of {@code windowS} seconds. */
    @FunctionalInterface
    public interface ReplicaWorkload {
        WorkloadSpec of(int served, double windowS);
    }

    /**
     * The {@code n} adapters one replica of a plan serves, drawn from a workload's per-adapter rates (busiest
     * first) as a stratified sample: n equal slices of the list, each one adapter at its slice's mean rate, so
     * that the share spans the workload's popularity and carries its mean replica's traffic, as a placement
     * that balances traffic over the replicas gives each (the slice's middle adapter instead, as before, carries
     * less than its slice under a skewed popularity: a Zipf's replica ran at 61% of the mean one's traffic);
     * all of them when n covers the list.
     */
    public static double[] replicaShare(double[] perAdapter, int n) {
        if (n >= perAdapter.length) {
            return perAdapter.clone();
        }
        int[] from = replicaSlices(perAdapter.length, n);
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double sum = 0;
            for (int j = from[i]; j < from[i + 1]; j++) {
                sum += perAdapter[j];
            }
            out[i] = sum / (from[i + 1] - from[i]);
        }
        return out;
    }

    /** The bounds of {@link #replicaShare}'s slices of a list of {@code all}: slice i is [at[i], at[i + 1]), for n < all. */
    static int[] replicaSlices(int all, int n) {
        int[] at = new int[n + 1];
        for (int i = 0; i <= n; i++) {
            at[i] = (int) ((long) i * all / n);
        }
        return at;
    }

    /**
     * A recommendation.
     *
     * @param servedPerGpu adapters one replica serves (the model's optimum, or all when fewer)
     * @param replicas replicas needed for all the adapters at that count
     * @param predictedServedMax the model's optimum served adapters per replica for this workload
     * @param throughputTps predicted tokens/s of one replica at this configuration
     * @param offeredTps tokens/s one replica is offered
     * @param predictedMeetsSlo whether the "slo" tree predicts this configuration meets the model's SLO
     * @param rules the tree paths in plain words, per target
     */
    public record Plan(
            String model,
            int adapters,
            int servedPerGpu,
            int replicas,
            int predictedServedMax,
            int maxAdapters,
            String pool,
            int tp,
            int kvCacheLen,
            double throughputTps,
            double offeredTps,
            boolean predictedMeetsSlo,
            Map<String, List<String>> rules,
            List<String> warnings,
            WorkloadFeatures features) {

        /** This plan at {@code served} adapters a replica on {@code slots} slots, with the replicas that follow. */
        public Plan withConfiguration(int served, int slots) {
            return new Plan(
                    model,
                    adapters,
                    served,
                    (adapters + served - 1) / served,
                    predictedServedMax,
                    slots,
                    pool,
                    tp,
                    kvCacheLen,
                    throughputTps,
                    offeredTps,
                    predictedMeetsSlo,
                    rules,
                    warnings,
                    features.withServed(served).withSlots(slots));
        }

        /** This configuration with other figures: its throughput and offered load, its SLO verdict, rules, warnings. */
        public Plan withFigures(
                double throughput,
                double offered,
                boolean meetsSlo,
                Map<String, List<String>> rulesNow,
                List<String> warningsNow) {
            return new Plan(
                    model,
                    adapters,
                    servedPerGpu,
                    replicas,
                    predictedServedMax,
                    maxAdapters,
                    pool,
                    tp,
                    kvCacheLen,
                    throughput,
                    offered,
                    meetsSlo,
                    rulesNow,
                    warningsNow,
                    features);
        }
    }

    /** The recommendation with the trees' rules in plain words and out-of-range warnings. */
    public Plan plan(Request r) {
        return plan(r, true);
    }

    /**
     * The recommendation alone: the same figures as {@link #plan} without the explanation (no strings
     * built); what a caller on a hot path uses, and what the latency benchmark measures.
     */
    public Plan predict(Request r) {
        return plan(r, false);
    }

    /**
     * The plan on {@code pool} at tensor parallelism {@code tp}, whatever the pool and tp trees say: what {@code plan
     * --verify} searches at the plan's pool's other trained tp. Refused when the model was not trained at that tp there.
     */
    public Plan planAtTp(Request r, String pool, int tp) {
        return plan(r, true, pool, tp);
    }

    /** The tps the model was trained at on the plan's pool, other than the plan's, in order. */
    public List<Integer> otherTps(Plan plan) {
        List<Integer> out = new ArrayList<>(model.trainedTp(plan.model(), plan.pool()));
        out.remove(Integer.valueOf(plan.tp()));
        return out;
    }

    private Plan plan(Request r, boolean explain) {
        return plan(r, explain, null, 0);
    }

    /** {@code forcedPool} null and {@code forcedTp} 0: the pool and tp the trees choose among those allowed. */
    private Plan plan(Request r, boolean explain, String forcedPool, int forcedTp) {
        if (r.rates() == null || r.rates().length != 3 || r.ranks() == null || r.ranks().length != 3) {
            throw new IllegalArgumentException("a plan needs three tier rates and a rank triple");
        }
        if (r.adapters() < 1) {
            throw new IllegalArgumentException("adapters must be >= 1, got " + r.adapters());
        }
        List<String> trained = model.meta().categories().getOrDefault("model", List.of());
        if (!trained.contains(r.model())) {
            throw new IllegalArgumentException("model '" + r.model() + "' is not among the trained models: "
                    + String.join(", ", trained) + " (" + model.source() + ")");
        }
        List<String> pools = forcedPool != null ? List.of(forcedPool) : allowedPools(r.pools());
        List<String> untrained = null;
        for (int i = 0; i < pools.size(); i++) {
            if (!trainedOn(r.model(), pools.get(i))) {
                untrained = untrained == null ? new ArrayList<>() : untrained;
                untrained.add(pools.get(i));
            }
        }
        if (untrained != null) {
            throw new IllegalArgumentException("model '" + r.model() + "' was not trained on pool "
                    + String.join(", ", untrained) + " (" + model.source() + "; its pools: "
                    + String.join(
                            ", ",
                            model.meta().categories().getOrDefault("pool", List.of()).stream()
                                    .filter(p -> trainedOn(r.model(), p))
                                    .toList())
                    + ")");
        }
        List<String> warnings = new ArrayList<>();
        Map<String, List<String>> rules = explain ? new LinkedHashMap<>() : null;
        WorkloadFeatures w = new WorkloadFeatures(
                r.model(),
                pools.getFirst(),
                Math.min(r.adapters(), (int) maxServed(r.model())),
                r.rates(),
                r.ranks(),
                r.promptMean(),
                r.outputMean(),
                r.cv(),
                0,
                defaultTp(),
                defaultKv(),
                r.skew());
        // placement first at the demand the replica would see, then the served count on that placement
        w = placement(w, pools, r.objective(), rules, forcedTp);
        if (explain && pools.size() > 1) {
            // the main grid's pools and the other GPUs' have trees apart, and no pool tree chooses across both
            String trees = model.treeModel(r.model(), w.pool());
            List<String> apart = new ArrayList<>();
            for (String p : pools) {
                if (!model.treeModel(r.model(), p).equals(trees)) {
                    apart.add(p);
                }
            }
            if (!apart.isEmpty()) {
                warnings.add("the pools asked for span the model's main grid and its other GPUs, whose trees are apart;"
                        + " this plan is for " + w.pool() + " (the first of the list's trees), not a choice among "
                        + String.join(", ", apart) + ": plan each with --pools, or compare them with plan --capacity");
            }
        }
        int nStar = (int) served(w, rules);
        int n = Math.min(r.adapters(), nStar);
        if (n != w.served() && n > 0) {
            w = placement(w.withServed(n), pools, r.objective(), rules, forcedTp);
            nStar = (int) served(w, rules);
            n = Math.min(r.adapters(), nStar);
        }
        if (n == 0) {
            warnings.add(
                    "even the smallest served count the model knows (" + (int) minServed(r.model())
                            + ") misses the SLO at these"
                            + " rates; the plan shows that count, which will miss it: split the adapters' traffic or use a bigger GPU");
            n = Math.min(r.adapters(), (int) minServed(r.model()));
        }
        w = w.withServed(n);
        int slots = slots(w, rules);
        w = w.withSlots(slots);
        int margin = nextSlotStep(w);
        // the slo target's answer for the configuration so far, asked once per configuration (a forest's vote is
        // most of a plan's time)
        boolean meets;
        if (margin > slots && predictedToMeet(w.withSlots(margin))) {
            // a margin of one grid step: the label is the fewest slots that meet the SLO, and a slot count one step
            // short of it misses, one step above it costs KV memory and little else (on 300 held-out workloads the
            // plans that meet the SLO went from 92.8% to 95.5% of those where some configuration does, at the same
            // regret)
            int from = slots;
            int to = margin;
            explain(
                    rules,
                    "slot margin",
                    () -> List.of(String.format(
                            Locale.ROOT,
                            "%d slots, one grid step more than the slots tree's %d, are predicted to meet the SLO as well",
                            to,
                            from)));
            slots = margin;
            w = w.withSlots(slots);
            meets = true;
        } else {
            meets = predictedToMeet(w);
        }
        if (!meets) {
            // the trees are fitted apart: when the slo tree says this served count and slot count miss, take more
            // slots of the grid (up to the served count and what fits) until it predicts a meet, then fewer
            // adapters per GPU: a plan errs towards meeting the SLO
            Repair repair = repair(w);
            if (repair != null && !repair.meets()) {
                // the slo forest is split at the served forest's count: that count stands (see SPLIT_VOTE)
                int fromServed = w.served();
                int trees = model.target("slo", w).tree().trees();
                long votes = Math.round(repair.share() * trees);
                WorkloadFeatures kept = repair.config();
                explain(
                        rules,
                        "split vote",
                        () -> List.of(String.format(
                                Locale.ROOT,
                                "%d adapters: at most %d of %d slo trees vote they meet the SLO on more slots, fewer"
                                        + " than %.0f%% but at least %.0f%%: the served count stands, on %d slots",
                                fromServed,
                                votes,
                                trees,
                                100 * MEET_VOTES,
                                100 * SPLIT_VOTE,
                                kept.slots())));
                if (explain) {
                    warnings.add(String.format(
                            Locale.ROOT,
                            "the slo forest is split on %d adapters per GPU (at most %d of %d trees vote it meets the"
                                    + " SLO); the plan keeps the served forest's count: verify it in the twin",
                            fromServed,
                            votes,
                            trees));
                }
                w = kept;
                slots = w.slots();
            } else if (repair != null) {
                WorkloadFeatures repaired = repair.config();
                int fromServed = w.served();
                int fromSlots = w.slots();
                WorkloadFeatures to = repaired;
                explain(
                        rules,
                        "slo repair",
                        () -> List.of(
                                String.format(
                                        Locale.ROOT,
                                        "%d adapters on %d slots are predicted to" + " miss the SLO",
                                        fromServed,
                                        fromSlots),
                                String.format(
                                        Locale.ROOT,
                                        "=> %d adapters on %d slots, %s",
                                        to.served(),
                                        to.slots(),
                                        "the first of the grid predicted to meet it")));
                w = repaired;
                n = w.served();
                slots = w.slots();
                meets = true;
            }
        }
        if (explain) {
            warnings.addAll(0, model.outOfRange(w));
            String trees = model.treeModel(w.model(), w.pool());
            Trainer.Report served = model.report("served", trees);
            if (!trees.equals(w.model()) && served != null) {
                // the other GPUs' trees learn from a smaller grid than the main GPU's: say how well they did
                Trainer.Report main = model.report("served", w.model());
                warnings.add(String.format(
                        Locale.ROOT,
                        "%s is one of the model's other GPUs, trained on %d workload families of their own grid (held-out"
                                + " served SMAPE %.1f%%%s): check the plan in the twin",
                        w.pool(),
                        served.trainWorkloads() + served.heldOutWorkloads(),
                        served.smapePct(),
                        main == null || main == served
                                ? ""
                                : String.format(Locale.ROOT, ", against %.1f%% on the main grid's", main.smapePct())));
            }
        }
        PlacementModel.Target tput = model.target("throughput", w);
        // the share of the offered load served: never above all of it, which a tree asked far outside its training
        // range could answer (2.05 for two adapters of 16-token prompts and answers, found by applying such a plan
        // to a live deployment and replaying the workload: it served the offered 32 tokens/s, not 65.6)
        double ratio = Math.min(1.0, tput.tree().predict(model.vector(tput, w)));
        if (explain) {
            PlacementModel.Target sloTree = model.target("slo", w);
            double[] sv = model.vector(sloTree, w);
            int trees = sloTree.tree().trees();
            rules.put(
                    "slo",
                    TreeWords.words(
                            sloTree.tree().path(sv),
                            "predicted: " + (meets ? "meets the SLO" : "misses the SLO")
                                    + (trees == 1
                                            ? ""
                                            : String.format(
                                                    Locale.ROOT,
                                                    " (%d of %d trees vote it meets; the first one's path above)",
                                                    Math.round(sloTree.tree().share(sv, Trainer.MEETS) * trees),
                                                    trees))));
        }
        int replicas = (r.adapters() + n - 1) / n;
        return new Plan(
                r.model(),
                r.adapters(),
                n,
                replicas,
                nStar,
                slots,
                w.pool(),
                w.tp(),
                w.kvCacheLen(),
                Trainer.round(ratio * w.offeredTps()),
                Trainer.round(w.offeredTps()),
                meets,
                rules == null ? Map.of() : rules,
                warnings,
                w);
    }

    /**
     * The plan's figures asked of the trees again at its own configuration: the throughput tree's share of the offered
     * load and the slo forest's vote, for a configuration changed after planning (a capacity spec's slot counts).
     */
    public Plan repriced(Plan p) {
        WorkloadFeatures w = p.features();
        PlacementModel.Target tput = model.target("throughput", w);
        double ratio = Math.min(1.0, tput.tree().predict(model.vector(tput, w)));
        return p.withFigures(
                Trainer.round(ratio * w.offeredTps()),
                Trainer.round(w.offeredTps()),
                predictedToMeet(w),
                p.rules(),
                p.warnings());
    }

    /** The share of the slo forest's trees voting that {@code w} meets the SLO (1 or 0 for a single tree). */
    private double meetShare(WorkloadFeatures w) {
        PlacementModel.Target t = model.target("slo", w);
        return t.tree().share(model.vector(t, w), Trainer.MEETS);
    }

    /**
     * The share of the slo forest's trees that must vote a configuration meets the SLO for a plan to count on it: a
     * qualified majority (9 of 15 trees; a single tree's own answer). On six held-out sets of 300 workloads
     * (docs/placement.md), measured with the served count then scaled by 0.97, against a bare majority: plans
     * missing the SLO where some configuration meets it 53 -> 44, mean regret 0.44 / 2.41 / 2.88 / 2.93 / 0.89 /
     * 2.40% -> 1.30 / 2.75 / 3.00 / 2.90 / 1.35 / 2.70%; at 0.67 (10 of 15) 38 misses, but the regret rose to
     * 1.6-4.5%. Without the scaling (as shipped) the 60% vote leaves 47 misses at a regret of 0.76-2.85%.
     */
    static final double MEET_VOTES = 0.6;

    /** Whether the slo target counts {@code w} as meeting the SLO: {@link #MEET_VOTES} of its trees say so. */
    private boolean predictedToMeet(WorkloadFeatures w) {
        return meetShare(w) >= MEET_VOTES;
    }

    /**
     * How far below {@link #MEET_VOTES} of the slo forest's trees may vote that the served forest's count meets the SLO (on its
     * best slot count) before the plan serves fewer adapters: at or above it the vote is split and the served
     * count stands. On the held-out workloads of docs/placement.md the step down had been wrong in all 8 near
     * plans that took it (the twin's best was the served forest's count), but right in most wide ones; at 0.4,
     * against always stepping down, within 3% of the twin's best went 90.7% -> 91.0% (near), 85.7% -> 86.0%
     * (wide), 85.0% -> 85.3% and 81.0% -> 81.7% (skewed), the SLO met where some configuration does 97.3% ->
     * 97.3%, 96.2% -> 96.5%, 98.6% -> 98.3% and 95.3% -> 95.3%.
     */
    static final double SPLIT_VOTE = 0.4;

    /**
     * A repair: a configuration the slo forest predicts to meet ({@code meets}), or, when its vote is split at the
     * served forest's count, the configuration as it was ({@code meets} false; {@code share}: the largest share of
     * the trees voting that some larger slot count meets).
     */
    private record Repair(WorkloadFeatures config, boolean meets, double share) {}

    /**
     * The first configuration the slo tree predicts to meet: more slots of the grid at this served count (up
     * to what fits), then each smaller served count of the grid with the slots tree's count and more, unless the
     * forest's vote at this count is split ({@link #SPLIT_VOTE}); null when none.
     */
    private Repair repair(WorkloadFeatures w) {
        double[] servedGrid = model.target("served", w).meta().snap();
        double[] slotGrid = model.target("slots", w).meta().snap();
        List<Integer> counts = new ArrayList<>();
        counts.add(w.served());
        for (int i = servedGrid.length - 1; i >= 0; i--) {
            if (servedGrid[i] > 0 && servedGrid[i] < w.served()) {
                counts.add((int) servedGrid[i]);
            }
        }
        for (int n : counts) {
            WorkloadFeatures at = w.withServed(n);
            int from = n == w.served() ? w.slots() + 1 : slots(at, null);
            List<Integer> tries = new ArrayList<>();
            int capacity = model.slotCapacity(at);
            for (double g : slotGrid) {
                if (g >= from && g <= n && g <= capacity) {
                    tries.add((int) g);
                }
            }
            if (!tries.contains(n) && n >= from && n <= capacity) {
                tries.add(n);
            }
            // at the served forest's count, the largest share of slo trees voting that more slots meet
            double bestShare = -1;
            for (int slots : tries) {
                WorkloadFeatures c = at.withSlots(slots);
                if (predictedToMeet(c)) {
                    return new Repair(c, true, 1);
                }
                if (n == w.served()) {
                    bestShare = Math.max(bestShare, meetShare(c));
                }
            }
            if (n == w.served() && bestShare >= SPLIT_VOTE) {
                return new Repair(w, false, bestShare);
            }
        }
        return null;
    }

    private double served(WorkloadFeatures w, Map<String, List<String>> rules) {
        PlacementModel.Target t = model.target("served", w);
        double[] v = model.vector(t, w);
        double predicted = t.tree().predict(v);
        double adapterLoad = model.adapterLoad(w);
        boolean share = t.meta().gpuShare();
        double[] grid = t.meta().snap();
        // (a workload that offers nothing takes no share of a GPU: the grid's largest count fits)
        double raw = !share ? predicted : adapterLoad > 0 ? predicted / adapterLoad : grid[grid.length - 1];
        double snapped = Trainer.snap(raw, grid);
        explain(
                rules,
                "served",
                () -> TreeWords.words(
                        t.tree().path(v),
                        String.format(
                                Locale.ROOT,
                                "%s%s, rounded to %d of the grid",
                                share
                                        ? String.format(
                                                Locale.ROOT,
                                                "a share of %.3f of a GPU / %.5f per adapter = %.1f adapters",
                                                predicted,
                                                adapterLoad,
                                                raw)
                                        : String.format(Locale.ROOT, "%.1f adapters", raw),
                                t.tree().trees() == 1
                                        ? ""
                                        : " (the mean of " + t.tree().trees() + " trees; the first one's path above)",
                                (int) snapped)));
        return snapped;
    }

    /**
     * The slot count of the grid one step above {@code w}'s (the served count itself when the grid has no
     * step in between), within the served count and what fits; {@code w}'s own when there is none.
     */
    private int nextSlotStep(WorkloadFeatures w) {
        int capacity = model.slotCapacity(w);
        int limit = Math.min(w.served(), capacity);
        int next = Integer.MAX_VALUE;
        for (double g : model.target("slots", w).meta().snap()) {
            if (g > w.slots() && g <= limit) {
                next = Math.min(next, (int) g);
            }
        }
        if (next == Integer.MAX_VALUE && w.served() > w.slots() && w.served() <= capacity) {
            next = w.served();
        }
        return next == Integer.MAX_VALUE ? w.slots() : next;
    }

    int slots(WorkloadFeatures w, Map<String, List<String>> rules) {
        PlacementModel.Target t = model.target("slots", w);
        double[] v = model.vector(t, w);
        double raw = t.tree().predict(v);
        List<Double> allowed = new ArrayList<>();
        int capacity = model.slotCapacity(w);
        for (double g : t.meta().snap()) {
            if (g <= w.served() && g <= capacity) {
                allowed.add(g);
            }
        }
        int slots;
        if (allowed.isEmpty()) {
            slots = w.served();
        } else {
            // rounded up to the grid: a slot too few keeps requests waiting for one (the label is the fewest slots
            // that meet the SLO, so a prediction between two counts is safer at the larger), a slot too many costs
            // KV memory, rarely throughput
            slots = (int) allowed.getLast().doubleValue();
            for (double g : allowed) {
                if (g >= raw - 1e-9) {
                    slots = (int) g;
                    break;
                }
            }
        }
        int chosen = slots;
        explain(
                rules,
                "slots",
                () -> TreeWords.words(
                        t.tree().path(v),
                        String.format(
                                Locale.ROOT,
                                "%.1f slots%s, rounded up to %d",
                                raw,
                                t.tree().trees() == 1
                                        ? ""
                                        : " (the mean of " + t.tree().trees() + " trees; the first one's path above)",
                                chosen)));
        return slots;
    }

    private WorkloadFeatures placement(
            WorkloadFeatures w,
            List<String> pools,
            Labels.Objective objective,
            Map<String, List<String>> rules,
            int forcedTp) {
        String pool = pools.getFirst();
        int tp = w.tp();
        int kv = w.kvCacheLen();
        if (model.has("pool", w) && pools.size() > 1) {
            PlacementModel.Target t = model.target("pool", w);
            double[] v = model.vector(t, w);
            String p = t.tree().label(v);
            String fallback = pool;
            explain(rules, "pool", () -> {
                List<String> words = TreeWords.words(t.tree().path(v), "predicted: " + p);
                if (!pools.contains(p)) {
                    words.add("(" + p + " is not allowed; using " + fallback + ")");
                }
                return words;
            });
            if (pools.contains(p)) {
                pool = p;
            }
        }
        // the tp and KV trees read the pool chosen (the trees of its grid, its pool feature)
        WorkloadFeatures at = pool.equals(w.pool()) ? w : w.withPlacement(pool, tp, kv);
        java.util.SortedSet<Integer> tps = model.trainedTp(w.model(), pool);
        if (forcedTp > 0) {
            if (!tps.contains(forcedTp)) {
                throw new IllegalArgumentException("model '" + w.model() + "' was not trained at tp " + forcedTp
                        + " on pool " + pool + " (its tp there: " + tps + ")");
            }
            tp = forcedTp;
            int chosen = tp;
            explain(rules, "tp", () -> List.of("tp " + chosen + ", as asked (the twin search at the pool's other tp)"));
        } else if (tps.size() == 1) {
            // a pool trained at one tp only (the main grid's beside a grid of other GPUs) keeps it
            tp = tps.first();
        } else if (model.has("tp", at)) {
            PlacementModel.Target t = model.target("tp", at);
            double[] v = model.vector(t, at);
            tp = Integer.parseInt(t.tree().label(v));
            int chosen = tp;
            explain(rules, "tp", () -> TreeWords.words(t.tree().path(v), "predicted: tp " + chosen));
        }
        if (model.has("kv_cache_len", at)) {
            PlacementModel.Target t = model.target("kv_cache_len", at);
            double[] v = model.vector(t, at);
            kv = Integer.parseInt(t.tree().label(v));
            int chosen = kv;
            explain(
                    rules,
                    "kv_cache_len",
                    () -> TreeWords.words(
                            t.tree().path(v), "predicted: " + (chosen == 0 ? "from memory" : chosen + " tokens")));
        }
        return w.withPlacement(pool, tp, kv);
    }

    private static void explain(Map<String, List<String>> rules, String key, Supplier<List<String>> words) {
        if (rules != null) {
            rules.put(key, words.get());
        }
    }

    private List<String> allowedPools(List<String> requested) {
        List<String> known = model.meta().categories().getOrDefault("pool", List.of());
        if (requested == null || requested.isEmpty()) {
            return defaultPools;
        }
        for (String p : requested) {
            if (!known.contains(p)) {
                throw new IllegalArgumentException(
                        "pool '" + p + "' is not among the trained pools: " + String.join(", ", known));
            }
        }
        return List.copyOf(requested);
    }

    private int defaultTp() {
        return trainingSpec == null ? 1 : trainingSpec.tp().getFirst();
    }

    private int defaultKv() {
        return trainingSpec == null ? 0 : trainingSpec.kvCacheLen().getFirst();
    }

    private double maxServed(String modelName) {
        double[] g = model.target("served", modelName).meta().snap();
        return g[g.length - 1];
    }

    private double minServed(String modelName) {
        for (double g : model.target("served", modelName).meta().snap()) {
            if (g > 0) {
                return g;
            }
        }
        return 1;
    }

    /** The searches around this planner's plans, over any {@link PlanSearch.Runner}. */
    public PlanSearch searches() {
        return new PlanSearch(model, this);
    }

    /** The twin side of this planner's plans: runs, replicas, the slots that start and the searches' runs. */
    public PlanTwin twin() {
        return new PlanTwin(this);
    }

    PerfModelSpec twinPerf() {
        return twinPerf;
    }

    Double twinStarvationBoundS() {
        return twinStarvationBoundS;
    }
}
