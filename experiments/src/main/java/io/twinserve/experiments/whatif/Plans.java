package io.twinserve.experiments.whatif;

import io.twinserve.placement.ClientLoad;
import io.twinserve.placement.Labels;
import io.twinserve.placement.PlanSearch;
import io.twinserve.placement.Planner;
import io.twinserve.placement.SweepSpec;
import io.twinserve.placement.WorkloadRequests;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A plan from the placement model: the workload described for the trees, the plan, and its twin check. */
final class Plans {
    private final Profiles profiles;

    Plans(Profiles profiles) {
        this.profiles = profiles;
    }

    /** The planner's request for the workload: measured from a trace, or described from a spec. */
    PlanWorkload workload(PlanRequest q) throws Exception {
        List<String> notes = new ArrayList<>();
        DeploymentSpec d = q.deployment() == null
                ? null
                : Deployments.parse(q.deployment().yaml(), q.deployment().file());
        String baseModel = baseModel(q, d);
        List<String> pools = pools(q, d);
        if (d != null) {
            checkPerfModel(q, d, baseModel);
        }
        String differs = d == null ? null : deploymentNote(q, d, baseModel);
        if (differs != null) {
            notes.add(differs);
        }
        if (q.trace() != null) {
            Path trace = q.trace();
            WorkloadRequests.TraceWorkload tw = WorkloadRequests.ofTrace(
                    TraceReaders.open(trace, ReadOptions.defaults()),
                    trace,
                    q.adapterRank(),
                    baseModel,
                    pools,
                    Labels.Objective.parse(q.objective()));
            notes.add(f(
                    "measured from the trace: %,d requests over %,.1f s, rank %d assumed for its adapters%s",
                    tw.requests(),
                    tw.spanS(),
                    q.adapterRank(),
                    tw.baseModelRequests() == 0
                            ? ""
                            : f(
                                    "; %,d base-model requests left out (the models plan adapter workloads)",
                                    tw.baseModelRequests())));
            return new PlanWorkload(
                    trace.toString(), null, trace.toAbsolutePath().getParent(), tw.request(), notes, d);
        }
        WorkloadSpec ws = WorkloadSpecs.parse(q.workload().yaml(), q.workload().file());
        Path base = q.workload().baseDir();
        Planner.Request req = WorkloadRequests.of(ws, base, baseModel, pools, Labels.Objective.parse(q.objective()));
        if (ws.sessions() != null || ws.arrivals() instanceof ArrivalsSpec.Trace) {
            notes.add(
                    (ws.sessions() != null ? "multi-turn sessions" : "replayed arrival times") + " are described by the"
                            + " requests they generate (each turn a request whose prompt holds the context it repeats); the trees were"
                            + " trained on independent requests, so the prediction is a starting point: "
                            + (q.verify()
                                    ? "the verification and its search run the workload itself"
                                    : "add --verify, which runs the workload itself"));
        }
        return new PlanWorkload(q.workload().file().toString(), ws, base, req, notes, d);
    }

    /**
     * Checks a request's deployment against its base model, the placement model's models and pools, and its own
     * performance model, without reading the workload (what the job service asks at submission); throws
     * {@link PlanInputException} naming the field.
     */
    void checkDeployment(PlanRequest q) throws IOException {
        if (q.deployment() != null) {
            DeploymentSpec d =
                    Deployments.parse(q.deployment().yaml(), q.deployment().file());
            String model = baseModel(q, d);
            pools(q, d);
            checkPerfModel(q, d, model);
        }
    }

    /**
     * The plan's base model: the request's, which must be the deployment's when both name one (the deployment's by
     * its profile name, and one the placement model was trained on).
     */
    private String baseModel(PlanRequest q, DeploymentSpec d) {
        if (d == null) {
            return q.baseModel() == null ? PlanRequest.DEFAULT_BASE_MODEL : q.baseModel();
        }
        if (q.baseModel() != null && !sameModel(q.baseModel(), d.model())) {
            throw new PlanInputException(
                    "base_model",
                    f(
                            "base model: the plan asks for %s, but %s serves %s; name one of them (the deployment's model"
                                    + " is the plan's when the base model is left out)",
                            q.baseModel(), deploymentName(q, d), d.model()));
        }
        String model = modelName(d.model());
        List<String> trained = q.model().meta().categories().getOrDefault("model", List.of());
        if (!trained.isEmpty() && !trained.contains(model)) {
            throw new PlanInputException(
                    "deployment",
                    f(
                            "deployment: %s serves %s, but the placement model (%s) was trained on %s; plan for a"
                                    + " deployment of one of those, or train a model whose sweep has %s (docs/placement.md)",
                            deploymentName(q, d), model, q.model().source(), String.join(", ", trained), model));
        }
        return model;
    }

    private boolean sameModel(String a, String b) {
        return a.equals(b) || modelName(a).equals(modelName(b));
    }

    private String modelName(String nameOrPath) {
        try {
            return profiles.model(nameOrPath).name();
        } catch (RuntimeException e) {
            return nameOrPath;
        }
    }

    /**
     * The pools the plan may use: with a deployment, the trained pools of its GPU (within the request's, when it
     * names some, each of which must be a trained pool); else the request's.
     */
    private List<String> pools(PlanRequest q, DeploymentSpec d) {
        if (d == null) {
            return q.pools();
        }
        String gpu = gpuName(d.gpu());
        Planner planner = new Planner(q.model());
        List<String> trained = q.model().meta().categories().getOrDefault("pool", List.of());
        List<String> known = new ArrayList<>();
        List<String> names = new ArrayList<>();
        List<String> mine = new ArrayList<>();
        if (planner.trainingSpec() != null) {
            for (SweepSpec.PoolEntry p : planner.trainingSpec().pools()) {
                if (!trained.contains(p.name())) {
                    continue;
                }
                known.add("pool " + p.name() + " (GPU " + p.gpu() + ")");
                names.add(p.name());
                if (gpuName(p.gpu()).equals(gpu)) {
                    mine.add(p.name());
                }
            }
        }
        String knownText = known.isEmpty() ? "no pools it records" : String.join(", ", known);
        if (q.pools() != null) {
            List<String> unknown =
                    q.pools().stream().filter(p -> !names.contains(p)).toList();
            if (!unknown.isEmpty()) {
                throw new PlanInputException(
                        "pools",
                        f(
                                "pools: %s %s not among the placement model's (%s)",
                                String.join(", ", unknown), unknown.size() == 1 ? "is" : "are", knownText));
            }
        }
        if (mine.isEmpty()) {
            throw new PlanInputException(
                    "deployment",
                    f(
                            "deployment: %s runs on GPU %s, but the placement model (%s) was trained on %s; plan for a"
                                    + " deployment on one of those GPUs, or train a model whose sweep has a pool of %s"
                                    + " (docs/placement.md)",
                            deploymentName(q, d), d.gpu(), q.model().source(), knownText, d.gpu()));
        }
        if (q.pools() != null && !q.pools().isEmpty()) {
            List<String> both = mine.stream().filter(q.pools()::contains).toList();
            if (both.isEmpty()) {
                throw new PlanInputException(
                        "pools",
                        f(
                                "pools: %s runs on GPU %s (pool %s), but the plan may use only %s; drop the pools or name %s",
                                deploymentName(q, d),
                                d.gpu(),
                                String.join(", ", mine),
                                String.join(", ", q.pools()),
                                mine.getFirst()));
            }
            return both;
        }
        return mine;
    }

    /**
     * The deployment's performance model as its runs will read it: a calibration that exists and was fitted for its
     * model and GPU, a profiled table that exists. Checked here, so that a broken one is one clear error rather than
     * every twin run of the verification reading as a configuration that does not start.
     */
    private void checkPerfModel(PlanRequest q, DeploymentSpec d, String model) throws IOException {
        String where = deploymentName(q, d);
        if (d.perfModel() instanceof PerfModelSpec.Profiled p && !Files.isRegularFile(Path.of(p.table()))) {
            throw new PlanInputException(
                    "deployment",
                    f(
                            "deployment: %s: perf_model.table %s is not a file (a Vidur-format mlp.csv, relative to the"
                                    + " working directory)",
                            where, p.table()));
        }
        if (d.perfModel().calibration() == null) {
            return;
        }
        Calibration c;
        try {
            c = Deployments.calibration(d.perfModel().calibration());
        } catch (SpecException e) {
            throw new PlanInputException("deployment", "deployment: " + where + ": " + e.getMessage());
        }
        if (!gpuName(c.gpu()).equals(gpuName(d.gpu())) || !modelName(c.model()).equals(model)) {
            throw new PlanInputException(
                    "deployment",
                    f(
                            "deployment: %s: perf_model.calibration %s was fitted for %s on %s, but the deployment serves"
                                    + " %s on %s; choose a calibration for this model and GPU, or none",
                            where, d.perfModel().calibration(), c.model(), c.gpu(), model, d.gpu()));
        }
    }

    private String gpuName(String gpu) {
        try {
            return profiles.gpu(gpu).name();
        } catch (RuntimeException e) {
            return gpu;
        }
    }

    private static String deploymentName(PlanRequest q, DeploymentSpec d) {
        return q.deployment().file() == null
                ? "deployment " + d.name()
                : q.deployment().file().toString();
    }

    /**
     * What a deployment changes: the twin's runs take its replica settings and performance model; the trees were
     * trained on the grid's, so the note names every setting where the two differ.
     */
    private String deploymentNote(PlanRequest q, DeploymentSpec d, String baseModel) {
        Planner planner = new Planner(q.model());
        if (planner.trainingSpec() == null) {
            return null;
        }
        List<String> differ =
                new ArrayList<>(differences(d.replica(), planner.trainingSpec().replica()));
        List<String> trainedCalibrations = planner.trainingSpec().models().stream()
                .filter(m -> sameModel(m.model(), baseModel))
                .flatMap(m -> m.calibrations().stream())
                .toList();
        if (!(d.perfModel() instanceof PerfModelSpec.Roofline r
                && r.calibration() != null
                && trainedCalibrations.contains(r.calibration()))) {
            differ.add("perf_model "
                    + (d.perfModel() instanceof PerfModelSpec.Profiled p
                            ? "profiled (" + p.table() + ")"
                            : d.perfModel().calibration() == null
                                    ? "roofline, uncalibrated"
                                    : "calibration " + d.perfModel().calibration())
                    + " (trained "
                    + (trainedCalibrations.isEmpty() ? "uncalibrated" : String.join(", ", trainedCalibrations))
                    + ")");
        }
        if (differ.isEmpty()) {
            return null;
        }
        return f(
                "%s differs from the settings the trees were trained with: %s; the trees' prediction is for the"
                        + " training settings, %s",
                deploymentName(q, d),
                String.join(", ", differ),
                q.verify()
                        ? "the verification and its search run the deployment's"
                        : "add --verify to run the plan with the deployment's");
    }

    /**
     * The replica settings a plan does not choose (it sets slots, rank, tp and KV) where {@code d} differs from the
     * grid. {@code max_cpu_adapters} is left out: the twin's runs hold at least every served adapter in host memory
     * either way, and a replica's runs have no other adapters.
     */
    static List<String> differences(ReplicaSpec d, ReplicaSpec grid) {
        List<String> out = new ArrayList<>();
        differ(out, "gpu_memory_utilization", d.gpuMemoryUtilization(), grid.gpuMemoryUtilization());
        differ(out, "max_num_seqs", d.maxNumSeqs(), grid.maxNumSeqs());
        differ(out, "max_num_batched_tokens", d.maxNumBatchedTokens(), grid.maxNumBatchedTokens());
        differ(out, "block_size", d.blockSize(), grid.blockSize());
        differ(out, "chunked_prefill", d.chunkedPrefill(), grid.chunkedPrefill());
        differ(out, "prefix_caching", d.prefixCaching(), grid.prefixCaching());
        differ(out, "max_model_len", d.maxModelLen(), grid.maxModelLen());
        differ(out, "adapter_load", d.adapterLoad(), grid.adapterLoad());
        differ(out, "weight_dtype", d.weightDtype(), grid.weightDtype());
        differ(out, "kv_cache_dtype", d.kvCacheDtype(), grid.kvCacheDtype());
        differ(out, "speculative", d.speculative() == null ? "off" : "on", grid.speculative() == null ? "off" : "on");
        return out;
    }

    private static void differ(List<String> out, String key, Object mine, Object grid) {
        if (!java.util.Objects.equals(mine, grid)) {
            out.add(key + " " + show(mine) + " (trained " + show(grid) + ")");
        }
    }

    private static String show(Object v) {
        return v == null ? "default" : v instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : v.toString();
    }

    /** The plan for the workload, verified in the twin and searched around when the request asks. */
    PlanOutcome plan(PlanRequest q, PlanWorkload w, Progress progress) throws Exception {
        if (q.searchBudget() < 0) {
            throw new IllegalArgumentException("the search budget must be >= 0, got " + q.searchBudget());
        }
        WorkloadSpec ws = w.spec();
        Path base = w.baseDir();
        boolean verify = q.verify();
        int budget = q.searchBudget();
        List<String> notes = new ArrayList<>(w.notes());
        DeploymentSpec d = w.deployment();
        SloSpec effective = SloSpec.resolve(ws == null ? null : ws.slo(), d == null ? null : d.slo(), q.slo());
        Planner.Request req = override(w.request(), q.features());
        Planner planner = d == null
                ? new Planner(q.model())
                : new Planner(q.model()).onDeployment(d.replica(), d.perfModel(), d.starvationBoundS());
        progress.update(0, "planning");
        Planner.Plan plan = planner.plan(req);
        ClientLoad.Client client = ws == null ? null : ClientLoad.Client.of(ws.client(), base);
        if (client != null && q.features() == null) {
            // a client that answers to the server sends what the planned replica lets it: plan at that rate
            ClientLoad.Adjusted a = ClientLoad.plan(planner, req, client, profiles);
            notes.add(f(
                    "the client is %s: against the planned replica the twin's step prices give a response time of %.2f s"
                            + " (steps of %.1f ms), so it sends %.3g requests/s per replica, %.3g%% of the %s's %.3g; the trees read the"
                            + " workload at that rate; %s",
                    client.describe(),
                    a.estimate().responseS(),
                    a.estimate().stepMs(),
                    a.estimate().requestRate(),
                    100 * a.estimate().scale(),
                    client.users() != null ? "arrival process" : "open-loop rate",
                    a.estimate().requestRate() / a.estimate().scale(),
                    verify
                            ? "the verification runs the client as specified"
                            : "--verify runs the client as specified"));
            plan = a.plan();
            req = a.request();
        } else if (client != null) {
            notes.add("the client "
                    + (client.users() != null
                            ? "is closed-loop (" + client.users() + " users)" + ""
                            : "caps outstanding requests at " + client.maxOutstanding())
                    + ": with --feature the trees read the rates"
                    + " given, not what the client would sustain");
        }
        if (planner.trainingSpec() != null) {
            // a plan whose slots the twin's memory check refuses (larger adapters than the trees saw) gets fewer
            plan = planner.fitted(plan, req, profiles);
        }
        if (!q.model().slo().equals(effective)) {
            notes.add("the model's labels meet " + q.model().slo().describe() + "; this plan is judged by "
                    + effective.describe() + ": the trees' answer is for the former"
                    + (verify ? ", the verification for the latter" : " (add --verify)"));
        }
        Planner.Verification v = null;
        List<PlanSearch.Alternative> search = List.of();
        List<PlanSearch.Alternative> searchUp = List.of();
        if (verify) {
            progress.update(0.2, "verifying");
            v = planner.verify(plan, req, profiles, base, effective);
            progress.update(0.5, "searching");
            // a plan the twin's run misses is corrected downwards; one it meets (its throughput predicted well or
            // not) stands, and the search looks for more adapters per GPU
            if (!v.verdict().met() && budget > 0) {
                search = planner.search(plan, req, profiles, base, effective, budget);
                PlanSearch.Alternative fixed = PlanSearch.best(search);
                if (fixed != null && fixed.servedPerGpu() == plan.servedPerGpu() && search.size() < budget) {
                    // more slots were all the plan lacked: its count stands, and more adapters per GPU may too
                    searchUp = planner.searchUp(
                            PlanSearch.withConfiguration(plan, fixed),
                            req,
                            profiles,
                            base,
                            effective,
                            budget - search.size());
                }
            } else if (v.verdict().met() && budget > 0) {
                searchUp = planner.searchUp(plan, req, profiles, base, effective, budget);
            }
        }
        PlanSearch.Alternative corrected = search.isEmpty()
                        || !search.getLast().verdict().met()
                        || !search.getLast().simulated().fits()
                ? null
                : search.getLast();
        PlanSearch.Alternative improved = PlanSearch.best(searchUp);
        PlanOutcome.SearchEnd ended =
                searchEnd(plan.servedPerGpu(), v != null && !v.verdict().met(), budget, search, corrected != null);
        progress.update(1, "planned");
        return new PlanOutcome(
                w.name(),
                q.model(),
                effective,
                req,
                plan,
                notes,
                v,
                search,
                corrected,
                searchUp,
                improved,
                ended,
                d == null ? null : deploymentName(q, d));
    }

    /**
     * Why the downward search ended (null when none ran): a configuration met the SLO; every count down to one
     * adapter per GPU was tried (its last run at one adapter, whatever budget was left, or runs to spare); or the
     * budget ran out first. A plan already at one adapter per GPU whose run misses has nothing below it.
     */
    static PlanOutcome.SearchEnd searchEnd(
            int planServedPerGpu,
            boolean runMissed,
            int budget,
            List<PlanSearch.Alternative> search,
            boolean corrected) {
        if (corrected) {
            return PlanOutcome.SearchEnd.MET;
        }
        if (search.isEmpty()) {
            return runMissed && budget > 0 && planServedPerGpu <= 1 ? PlanOutcome.SearchEnd.ONE_ADAPTER : null;
        }
        return search.size() < budget || search.getLast().servedPerGpu() <= 1
                ? PlanOutcome.SearchEnd.ONE_ADAPTER
                : PlanOutcome.SearchEnd.BUDGET;
    }

    /** The request with {@code NAME=VALUE} feature overrides applied (rates, lengths, CV, adapters, tier skew). */
    static Planner.Request override(Planner.Request r, List<String> overrides) {
        if (overrides == null) {
            return r;
        }
        double[] rates = r.rates().clone();
        double prompt = r.promptMean();
        double output = r.outputMean();
        double cv = r.cv();
        int adapters = r.adapters();
        double skew = r.skew();
        boolean ratesChanged = false;
        for (String o : overrides) {
            FeatureOverride feature = FeatureOverride.parse(o);
            double value = feature.value();
            switch (feature.name()) {
                case "tier_skew" -> {
                    skew = value;
                    ratesChanged = true;
                }
                case "rate_high", "rate_mid", "rate_low" -> {
                    rates[
                            feature.name().equals("rate_high")
                                    ? 0
                                    : feature.name().equals("rate_mid") ? 1 : 2] = value;
                    ratesChanged = true;
                }
                case "prompt_mean" -> prompt = value;
                case "output_mean" -> output = value;
                case "cv" -> cv = value;
                case "adapters" -> {
                    adapters = (int) value;
                    ratesChanged = true;
                }
                default -> throw new IllegalStateException("FeatureOverride.NAMES has '" + feature.name() + "'");
            }
        }
        return r.described(adapters, rates, prompt, output, cv, skew, ratesChanged);
    }

    private static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }
}
