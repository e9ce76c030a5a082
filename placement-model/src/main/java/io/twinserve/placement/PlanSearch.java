package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.slo.SloVerdict;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.IntConsumer;

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

    /**
     * What {@code plan --verify} searched after one run of a plan: downwards (and upwards again from a fix at the
     * plan's own count) when the run missed the SLO, upwards when it met.
     */
    public record Around(List<Alternative> down, List<Alternative> up) {
        public Around {
            down = List.copyOf(down);
            up = List.copyOf(up);
        }

        /** The downward search's answer: its last configuration when that starts and meets the SLO, else null. */
        public Alternative corrected() {
            return down.isEmpty()
                            || !down.getLast().verdict().met()
                            || !down.getLast().simulated().fits()
                    ? null
                    : down.getLast();
        }

        /** The upward search's answer (null: none with more adapters per GPU met the SLO). */
        public Alternative improved() {
            return best(up);
        }

        /** Twin runs of both searches. */
        public int runs() {
            return down.size() + up.size();
        }
    }

    /**
     * The searches after a run of {@code plan} that met the SLO ({@code runMet}: started and met) or missed it, at
     * most {@code budget} runs in all.
     */
    public Around around(Planner.Plan plan, boolean runMet, SloSpec slo, int budget, Runner run) {
        List<Alternative> down = List.of();
        List<Alternative> up = List.of();
        if (budget > 0 && !runMet) {
            down = down(plan, slo, budget, run);
            Alternative fixed = best(down);
            if (fixed != null && fixed.servedPerGpu() == plan.servedPerGpu() && down.size() < budget) {
                // more slots were all the plan lacked: its count stands, and more adapters per GPU may too
                up = up(withConfiguration(plan, fixed), slo, budget - down.size(), run);
            }
        } else if (budget > 0) {
            up = up(plan, slo, budget, run);
        }
        return new Around(down, up);
    }

    /**
     * The search at another tp of the plan's pool: the plan the trees give at that tp, its run (null when the runner
     * has none) and the searches around it.
     */
    public record AtTp(int tp, Planner.Plan plan, SweepRow run, Around around) {
        /** The best configuration found at this tp that starts and meets {@code slo}; null: none. */
        public Alternative best(SloSpec slo) {
            Alternative up = around.improved();
            if (up != null) {
                return up;
            }
            if (around.corrected() != null) {
                return around.corrected();
            }
            return run != null && run.fits() && run.meets(slo)
                    ? new Alternative(plan.servedPerGpu(), plan.maxAdapters(), run, run.verdict(slo))
                    : null;
        }

        /** Twin runs at this tp. */
        public int runs() {
            return (run == null ? 0 : 1) + around.runs();
        }
    }

    /**
     * What the search at the pool's other trained tps found ({@link #acrossTps}): each tp searched, in turn; the answer
     * after them (the one given when none was better); the configuration of another tp that became the answer (null:
     * none); the twin runs taken.
     */
    public record AcrossTps(List<AtTp> searched, Alternative answer, Alternative betterTp, int runs) {}

    /**
     * The pool's other trained tps ({@link Planner#otherTps}) searched in turn with the {@code left} twin runs left:
     * at each, unless all the plan's adapters on one replica there would serve fewer per GPU than {@code answer} (a
     * configuration that meets the SLO, or null), {@code searchAt} (the tp and the runs left; it plans there, runs
     * that plan and searches around it) and the answer moves to the best configuration found there when that is
     * better ({@link #better}). {@code plan --verify} runs it on the twin and {@link PlanEvaluation} on its tables, so
     * that the evaluation scores what the command answers.
     */
    public static AcrossTps acrossTps(
            Planner planner,
            Planner.Plan plan,
            Alternative answer,
            int left,
            SloSpec slo,
            BiFunction<Integer, Integer, AtTp> searchAt,
            IntConsumer onTp) {
        List<AtTp> searched = new ArrayList<>();
        Alternative betterTp = null;
        int runs = 0;
        for (int tp : planner.otherTps(plan)) {
            if (left - runs < 1) {
                break;
            }
            if (!mayBeat(plan.adapters(), tp, answer)) {
                continue;
            }
            onTp.accept(tp);
            AtTp at = searchAt.apply(tp, left - runs);
            searched.add(at);
            runs += at.runs();
            // the answer moves as each tp is searched; one found at another tp is the better tp's
            Alternative best = at.best(slo);
            if (better(best, answer)) {
                answer = best;
                betterTp = best;
            }
        }
        return new AcrossTps(searched, answer, betterTp, runs);
    }

    /**
     * Whether configuration {@code a} beats {@code b} (null: anything beats it) by the labels' rule across tp: more
     * adapters per GPU (a replica's adapters over its tp), then more tokens/s per GPU.
     */
    public static boolean better(Alternative a, Alternative b) {
        if (a == null) {
            return false;
        }
        if (b == null) {
            return true;
        }
        double perGpuA = (double) a.servedPerGpu() / a.simulated().tp();
        double perGpuB = (double) b.servedPerGpu() / b.simulated().tp();
        if (perGpuA != perGpuB) {
            return perGpuA > perGpuB;
        }
        return a.simulated().throughputTps() / a.simulated().tp()
                > b.simulated().throughputTps() / b.simulated().tp() * (1 + Labels.TIE);
    }

    /**
     * Whether a search at {@code tp} could beat {@code answer} (null: none met the SLO): all of the workload's {@code
     * adapters} on one replica of {@code tp} GPUs give at least as many adapters per GPU.
     */
    public static boolean mayBeat(int adapters, int tp, Alternative answer) {
        return answer == null
                || (double) adapters / tp
                        >= (double) answer.servedPerGpu() / answer.simulated().tp();
    }

    /** The plan with a searched configuration's adapters per GPU and slots (and the replicas that follow). */
    public static Planner.Plan withConfiguration(Planner.Plan plan, Alternative a) {
        return plan.withConfiguration(a.servedPerGpu(), a.maxAdapters());
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
