package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.slo.SloVerdict;
import java.util.ArrayList;
import java.util.List;

/**
 * The twin searches of {@code plan --verify} around a plan: downwards after a run that misses the SLO,
 * upwards for more adapters per GPU after one that meets it. Each runs configurations through a {@link
 * Runner}: the twin for the command, a table of runs for {@link PlanEvaluation}.
 */
public final class PlanSearch {
    /** One configuration a search tried. */
    public record Alternative(int servedPerGpu, int maxAdapters, SweepRow simulated, SloVerdict verdict) {}

    /**
     * Runs one configuration of a plan (its adapters per GPU and slots, the plan's other settings) and
     * returns the row (null for a configuration a table does not hold: the search passes over it).
     */
    public interface Runner {
        SweepRow run(int servedPerGpu, int maxAdapters);
    }

    private final PlacementModel model;
    private final Planner planner;

    PlanSearch(PlacementModel model, Planner planner) {
        this.model = model;
        this.planner = planner;
    }

    /**
     * Downwards: the slot counts of the grid above the plan's at its served count, then fewer served
     * adapters per GPU (the grid's counts below the plan's, then halving below the grid's smallest down to
     * one, each on as many slots), each with the slot counts up to it; the first configuration that meets
     * {@code slo} ends the search. Every configuration tried is returned, in order; at most {@code budget}
     * runs.
     */
    public List<Alternative> down(Planner.Plan plan, SloSpec slo, int budget, Runner run) {
        double[] servedGrid = model.target("served", plan.model()).meta().snap();
        double[] slotGrid = model.target("slots", plan.model()).meta().snap();
        List<Integer> servedCounts = new ArrayList<>();
        servedCounts.add(plan.servedPerGpu());
        for (int i = servedGrid.length - 1; i >= 0; i--) {
            if (servedGrid[i] > 0 && servedGrid[i] < plan.servedPerGpu()) {
                servedCounts.add((int) servedGrid[i]);
            }
        }
        // below the grid the model knows nothing, but the twin does: a workload whose bursts one GPU cannot absorb
        // at the grid's fewest adapters may meet the SLO at fewer still (more replicas for the same adapters)
        for (int n = servedCounts.getLast() / 2; n >= 1; n /= 2) {
            servedCounts.add(n);
        }
        List<Alternative> out = new ArrayList<>();
        for (int n : servedCounts) {
            List<Integer> slotCounts = new ArrayList<>();
            for (double g : slotGrid) {
                if (g <= n && (n != plan.servedPerGpu() || g > plan.maxAdapters())) {
                    slotCounts.add((int) g);
                }
            }
            if (!slotCounts.contains(n) && (n != plan.servedPerGpu() || n > plan.maxAdapters())) {
                slotCounts.add(n);
            }
            switch (firstMeeting(n, slotCounts, slo, budget, run, out)) {
                case MET, BUDGET -> {
                    return out;
                }
                case NONE -> {}
            }
        }
        return out;
    }

    /**
     * Upwards, after a plan whose twin run meets the SLO: each larger served count of the grid (up to the
     * workload's adapters, at most {@code budget} runs), from the slots tree's count there (rounded up)
     * through the grid's larger slot counts that fit, then its smaller ones, the first that meets {@code slo}
     * moving the search to the next count; it ends at a count where none meets. Every configuration tried is
     * returned, in order; the last that meets is the better configuration (none: the plan was the most).
     */
    public List<Alternative> up(Planner.Plan plan, SloSpec slo, int budget, Runner run) {
        double[] servedGrid = model.target("served", plan.model()).meta().snap();
        double[] slotGrid = model.target("slots", plan.model()).meta().snap();
        List<Alternative> out = new ArrayList<>();
        for (double g : servedGrid) {
            int n = (int) g;
            if (n <= plan.servedPerGpu() || n > plan.adapters()) {
                continue;
            }
            WorkloadFeatures at = plan.features().withServed(n);
            int from = planner.slots(at, null);
            // on a deployment's own settings (another memory share, fp8) the twin's memory check decides what starts
            int capacity = planner.onDeployment() ? Integer.MAX_VALUE : model.slotCapacity(at);
            List<Integer> tries = new ArrayList<>();
            for (double s : slotGrid) {
                if (s >= from && s <= n && s <= capacity) {
                    tries.add((int) s);
                }
            }
            for (int i = slotGrid.length - 1; i >= 0; i--) {
                if (slotGrid[i] < from && slotGrid[i] <= capacity) {
                    tries.add((int) slotGrid[i]);
                }
            }
            if (firstMeeting(n, tries, slo, budget, run, out) != Outcome.MET) {
                return out;
            }
        }
        return out;
    }

    private enum Outcome {
        MET,
        NONE,
        BUDGET
    }

    /** Runs {@code n} adapters on each slot count in turn, into {@code out}, until one meets or the budget is spent. */
    private static Outcome firstMeeting(
            int n, List<Integer> slotCounts, SloSpec slo, int budget, Runner run, List<Alternative> out) {
        for (int slots : slotCounts) {
            if (out.size() >= budget) {
                return Outcome.BUDGET;
            }
            SweepRow row = run.run(n, slots);
            if (row == null) {
                continue;
            }
            SloVerdict v = row.verdict(slo);
            out.add(new Alternative(n, slots, row, v));
            if (row.fits() && v.met()) {
                return Outcome.MET;
            }
        }
        return Outcome.NONE;
    }

    /** The plan with a searched configuration's adapters per GPU and slots (and the replicas that follow). */
    public static Planner.Plan withConfiguration(Planner.Plan plan, Alternative a) {
        return new Planner.Plan(
                plan.model(),
                plan.adapters(),
                a.servedPerGpu(),
                (plan.adapters() + a.servedPerGpu() - 1) / a.servedPerGpu(),
                plan.predictedServedMax(),
                a.maxAdapters(),
                plan.pool(),
                plan.tp(),
                plan.kvCacheLen(),
                plan.throughputTps(),
                plan.offeredTps(),
                plan.predictedMeetsSlo(),
                plan.rules(),
                plan.warnings(),
                plan.features().withServed(a.servedPerGpu()).withSlots(a.maxAdapters()));
    }

    /** The last configuration of a search that meets the SLO (the search's answer), or null. */
    public static Alternative best(List<Alternative> search) {
        for (int i = search.size() - 1; i >= 0; i--) {
            Alternative a = search.get(i);
            if (a.simulated().fits() && a.verdict().met()) {
                return a;
            }
        }
        return null;
    }
}
