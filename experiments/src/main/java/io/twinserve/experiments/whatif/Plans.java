package io.twinserve.experiments.whatif;

import io.twinserve.placement.ClientLoad;
import io.twinserve.placement.Labels;
import io.twinserve.placement.PlanSearch;
import io.twinserve.placement.PlanTwin;
import io.twinserve.placement.Planner;
import io.twinserve.placement.WorkloadRequests;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.io.UncheckedIOException;
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
        PlanDeployment d = PlanDeployment.of(q, profiles);
        String baseModel = d.baseModel();
        List<String> pools = d.pools();
        if (d.note() != null) {
            notes.add(d.note());
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
                                    : "add " + q.verifyOption() + ", which runs the workload itself"));
        }
        return new PlanWorkload(q.workload().file().toString(), ws, base, req, notes, d);
    }

    /**
     * Checks a request's deployment against its base model, the placement model's models and pools, and its own
     * performance model, without reading the workload (what the job service asks at submission); throws
     * {@link PlanInputException} naming the field.
     */
    void checkDeployment(PlanRequest q) throws IOException {
        PlanDeployment.of(q, profiles);
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
        DeploymentSpec d = w.deployment().spec();
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
                            : q.verifyOption() + " runs the client as specified"));
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
            plan = planner.twin().fitted(plan, req, profiles);
        }
        if (!q.model().slo().equals(effective)) {
            notes.add("the model's labels meet " + q.model().slo().describe() + "; this plan is judged by "
                    + effective.describe() + ": the trees' answer is for the former"
                    + (verify ? ", the verification for the latter" : " (add " + q.verifyOption() + ")"));
        }
        PlanTwin.Verification v = null;
        List<PlanSearch.Alternative> search = List.of();
        List<PlanSearch.Alternative> searchUp = List.of();
        List<PlanSearch.AtTp> otherTps = new ArrayList<>();
        PlanSearch.Alternative betterTp = null;
        if (verify) {
            progress.update(0.2, "verifying");
            v = planner.twin().verify(plan, req, profiles, base, effective);
            progress.update(0.5, "searching");
            // a plan the twin's run misses is corrected downwards; one it meets (its throughput predicted well or
            // not) stands, and the search looks for more adapters per GPU
            PlanSearch.Around around = planner.searches()
                    .around(
                            plan,
                            v.simulated().fits() && v.verdict().met(),
                            effective,
                            budget,
                            planner.twin().runner(plan, req, profiles, base, effective));
            search = around.down();
            searchUp = around.up();
            PlanSearch.Alternative answer = PlanOutcome.answerAt(plan, v, around.improved(), around.corrected());
            // then the pool's other trained tps, with the budget left: the plan the trees give there, its run and
            // the searches around it (the twin's best may be at another tp than the tp tree's); not a tp at which
            // all the adapters on one replica would give fewer per GPU than the answer already has
            Planner.Request asked = req;
            String pool = plan.pool();
            PlanSearch.AcrossTps across;
            try {
                across = PlanSearch.acrossTps(
                        planner,
                        plan,
                        answer,
                        budget - around.runs(),
                        effective,
                        (tp, left) -> {
                            try {
                                return planner.twin().searchAtTp(asked, pool, tp, profiles, base, effective, left);
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        },
                        tp -> progress.update(0.8, "searching at tp " + tp));
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            otherTps.addAll(across.searched());
            betterTp = across.betterTp();
        }
        PlanSearch.Around searched = new PlanSearch.Around(search, searchUp);
        PlanSearch.Alternative corrected = searched.corrected();
        PlanSearch.Alternative improved = searched.improved();
        PlanOutcome.SearchEnd ended = searchEnd(
                plan.servedPerGpu(),
                v != null && !(v.simulated().fits() && v.verdict().met()),
                budget,
                search,
                corrected != null);
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
                otherTps,
                betterTp,
                w.deployment().name());
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
