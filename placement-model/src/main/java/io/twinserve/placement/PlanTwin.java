package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.slo.SloVerdict;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The twin's side of a {@link Planner}'s plans: one replica of a plan's configuration run through the twin against
 * the prediction and an SLO ({@link #verify}), the replica such a run uses ({@link #replica}, what {@link ClientLoad}
 * prices steps with), the slots that start on the plan's GPU ({@link #fitted}), and the runs of {@code plan
 * --verify}'s searches ({@link #runner}, {@link #searchAtTp}). The trees' side stays in {@link Planner}.
 */
public final class PlanTwin {
    private final Planner planner;

    PlanTwin(Planner planner) {
        this.planner = planner;
    }

    /**
     * A twin run of a plan's configuration, against the prediction and the model's SLO.
     *
     * @param predictedOfferedTps the offered load the prediction is for (the workload's rates and mean lengths)
     * @param errorPct the predicted share of the offered load served against the run's (its throughput over the load
     *     its arrivals offered), in percent of the latter: the model's error, without the twin's draw of the workload
     *     (a few hundred requests of a quiet workload offer a few percent more or less than their rates); with a client
     *     that answers to the server (users, a cap), the predicted throughput against the run's
     * @param sharesCompared whether {@code errorPct} compares shares of the offered load (false: throughputs)
     * @param verdict the run judged against the SLO the plan was asked for
     * @param toleratedErrorPct the throughput error the model reports on held-out rows (its SMAPE), at least 1%
     */
    public record Verification(
            SweepRow simulated,
            double predictedThroughputTps,
            double predictedOfferedTps,
            double errorPct,
            boolean sharesCompared,
            boolean predictedMeetsSlo,
            SloVerdict verdict,
            double toleratedErrorPct) {

        /** Whether the twin confirms the plan: the SLO is met and the throughput is within the tolerated error. */
        public boolean confirmed() {
            return simulated.fits()
                    && verdict.met()
                    && Double.isFinite(errorPct)
                    && Math.abs(errorPct) <= toleratedErrorPct;
        }
    }

    /**
     * Runs the plan's configuration for one replica of the workload (its served adapters per GPU, same
     * tiers, ranks and lengths) through the twin for the training spec's window, to the end.
     */
    public Verification verify(Planner.Plan plan, Planner.Request r, Profiles profiles, Path baseDir, SloSpec slo) {
        OneRun one = oneRun(plan, r, profiles, baseDir);
        SweepRow row = one.own() != null
                ? one.sweep().simulate(one.scenario(), one.own())
                : one.sweep().simulate(one.scenario());
        // the throughput tree learns the share of the offered load served (Trainer): compare shares, so that the
        // error is the model's and not the difference between the workload's rates and what the run drew from them.
        // Not with a client that answers to the server (users, a cap): what it sends is part of the prediction
        // (ClientLoad), so the throughput itself is compared
        boolean openLoop = one.own() == null
                || one.own().client() == null
                || (one.own().client().users() == null && one.own().client().maxOutstanding() == null);
        boolean shares = openLoop && plan.offeredTps() > 0 && row.offeredTps() > 0;
        double predicted = shares ? plan.throughputTps() / plan.offeredTps() * row.offeredTps() : plan.throughputTps();
        double err =
                row.throughputTps() == 0 ? Double.NaN : 100 * (predicted - row.throughputTps()) / row.throughputTps();
        Trainer.Report tr = planner.model().report("throughput", plan.model(), plan.pool());
        double tolerated = Math.max(1.0, tr == null || !Double.isFinite(tr.smapePct()) ? 3.0 : tr.smapePct());
        return new Verification(
                row,
                plan.throughputTps(),
                plan.offeredTps(),
                Trainer.round(err),
                shares,
                plan.predictedMeetsSlo(),
                row.verdict(slo),
                tolerated);
    }

    /**
     * The replica one of the plan's runs would use (its GPU, slots, tp and KV setting, priced by the training
     * spec's calibration for that GPU, or by the deployment's performance model {@link Planner#onDeployment}): what
     * {@link ClientLoad} prices steps with.
     */
    public ResolvedReplica replica(Planner.Plan plan, Planner.Request r, Profiles profiles) throws IOException {
        OneRun one = oneRun(plan, r, profiles, Path.of(""));
        return one.sweep().resolve(one.scenario());
    }

    /**
     * The plan with as many slots as start on its GPU: when the twin's memory check refuses its configuration
     * (the trees know the slot counts that started in training, for its largest rank; a workload with larger
     * adapters needs more memory per slot), the grid's smaller slot counts in turn until one starts, with a
     * warning that names both; the plan itself when it starts, or when no count does.
     */
    public Planner.Plan fitted(Planner.Plan plan, Planner.Request r, Profiles profiles) throws IOException {
        List<Integer> tries = new ArrayList<>();
        tries.add(plan.maxAdapters());
        double[] grid = planner.model().target("slots", plan.model()).meta().snap();
        for (int i = grid.length - 1; i >= 0; i--) {
            if (grid[i] >= 1 && grid[i] < plan.maxAdapters()) {
                tries.add((int) grid[i]);
            }
        }
        String refused = null;
        for (int slots : tries) {
            Planner.Plan at = withSlots(plan, slots);
            try {
                replica(at, r, profiles);
            } catch (InsufficientGpuMemoryException | SpecException e) {
                if (refused == null) {
                    refused = e.getMessage();
                }
                continue;
            }
            if (slots == plan.maxAdapters()) {
                return plan;
            }
            List<String> warnings = new ArrayList<>(plan.warnings());
            int maxRank = Math.max(r.ranks()[0], Math.max(r.ranks()[1], r.ranks()[2]));
            warnings.add(String.format(
                    Locale.ROOT,
                    "max_adapters lowered from %d to %d, the most slots of rank %d that start"
                            + " on %s (the trees' %d do not: %s); the predicted throughput is for %d",
                    plan.maxAdapters(),
                    slots,
                    maxRank,
                    plan.pool(),
                    plan.maxAdapters(),
                    refused.replace('\n', ' '),
                    plan.maxAdapters()));
            return at.withFigures(at.throughputTps(), at.offeredTps(), at.predictedMeetsSlo(), at.rules(), warnings);
        }
        return plan;
    }

    private static Planner.Plan withSlots(Planner.Plan p, int slots) {
        return p.withConfiguration(p.servedPerGpu(), slots);
    }

    /** The one-scenario sweep that runs a plan's configuration, its scenario, and the workload it runs (or null). */
    private record OneRun(Sweep sweep, Scenario scenario, WorkloadSpec own) {}

    private OneRun oneRun(Planner.Plan plan, Planner.Request r, Profiles profiles, Path baseDir) {
        if (planner.trainingSpec() == null) {
            throw new IllegalStateException("the model records no training spec; cannot build the twin run");
        }
        SweepSpec.ModelEntry me = planner.trainingSpec().models().stream()
                .filter(m -> m.model().equals(plan.model()))
                .findFirst()
                .orElse(new SweepSpec.ModelEntry(plan.model(), List.of()));
        SweepSpec.PoolEntry pe = planner.trainingSpec().pools().stream()
                .filter(p -> p.name().equals(plan.pool()))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("pool " + plan.pool() + " is not in the training spec"));
        SweepSpec.LengthShape shape = r.lengths() != null
                ? new SweepSpec.LengthShape("workload", r.lengths())
                : planner.trainingSpec().lengths().getFirst();
        SweepSpec one = new SweepSpec(
                "verify",
                null,
                planner.trainingSpec().seed(),
                planner.trainingSpec().windowS(),
                List.of(me),
                List.of(pe),
                List.of(plan.servedPerGpu()),
                List.of(plan.maxAdapters()),
                List.of(3.0, 2.0, 1.0),
                3,
                List.of(WorkloadFeatures.rankList(r.ranks())),
                List.of(plan.tp()),
                List.of(plan.kvCacheLen()),
                List.of(shape),
                List.of(r.cv()),
                planner.twinReplica(),
                null,
                false,
                null,
                null,
                null,
                List.of(r.skew()));
        Sweep sweep = new Sweep(one, baseDir, profiles, planner.twinPerf(), planner.twinStarvationBoundS());
        // a workload spec: one replica's share of it, as it is (arrivals, popularity, sessions, client); a trace
        // whose skewed rates the tiers do not describe exactly: a share of its adapters' rates; else the tiers
        WorkloadSpec own = r.replicaWorkload() == null
                ? null
                : r.replicaWorkload()
                        .of(plan.servedPerGpu(), planner.trainingSpec().windowS());
        double[] share = own == null && r.perAdapter() != null && r.skew() > 0
                ? Planner.replicaShare(r.perAdapter(), plan.servedPerGpu())
                : null;
        int served = own != null ? own.adapters().count() : share != null ? share.length : plan.servedPerGpu();
        Scenario s = new Scenario(
                0,
                0,
                me,
                pe,
                shape,
                r.cv(),
                WorkloadFeatures.rankList(r.ranks()),
                r.rates(),
                served,
                plan.maxAdapters(),
                plan.tp(),
                plan.kvCacheLen(),
                r.skew(),
                share);
        return new OneRun(sweep, s, own);
    }

    /**
     * {@code plan --verify} at another tp of the plan's pool ({@link Planner#otherTps}): the plan the trees give on {@code
     * pool} at {@code tp} (with as many slots as start), its run through the twin and the searches around it, at most {@code budget} runs
     * in all (none: null).
     */
    public PlanSearch.AtTp searchAtTp(
            Planner.Request r, String pool, int tp, Profiles profiles, Path baseDir, SloSpec slo, int budget)
            throws IOException {
        if (budget < 1) {
            return null;
        }
        Planner.Plan at = planner.planAtTp(r, pool, tp);
        if (planner.trainingSpec() != null) {
            at = fitted(at, r, profiles);
        }
        SweepRow run = verify(at, r, profiles, baseDir, slo).simulated();
        PlanSearch.Around around = planner.searches()
                .around(at, run.fits() && run.meets(slo), slo, budget - 1, runner(at, r, profiles, baseDir, slo));
        return new PlanSearch.AtTp(tp, at, run, around);
    }

    /** Runs a configuration of {@code plan} (its adapters per GPU and slots, the plan's other settings) through the twin. */
    public PlanSearch.Runner runner(
            Planner.Plan plan, Planner.Request r, Profiles profiles, Path baseDir, SloSpec slo) {
        return (n, slots) -> verify(
                        plan.withConfiguration(n, slots)
                                .withFigures(plan.throughputTps(), plan.offeredTps(), false, Map.of(), List.of()),
                        r,
                        profiles,
                        baseDir,
                        slo)
                .simulated();
    }
}
