package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;

/**
 * The optimum labels of a dataset, per workload: what an exhaustive search of the twin's runs picks under
 * an SLO ({@link SloSpec}), so that the planner learns the twin's own decision.
 *
 * <p>The study's structure with the SLO as the test of "good enough" (the study used its starvation test,
 * throughput within 10% of the offered load, which passes runs with minute-long waits): within a family
 * (one model, rate triple, rank triple, length shape and burstiness on one pool, tp and KV setting),
 * scanning served counts upwards, the optimal served adapters is the last count before no slot count
 * meets the SLO (0 when the smallest already misses it); for every served count with a configuration
 * that meets it, the best slot count is the one with the highest throughput, where slot counts within
 * {@link #TIE} of the best count as equal and the fewest wins (a slot costs KV memory, and among equals
 * the measured differences are noise of the window's end).
 *
 * <p>Ours: for each workload (family and served count) across pools, tp and KV settings, the
 * configuration that best meets an {@link Objective} among those that meet the SLO.
 */
public final class Labels {
    /** Throughputs within this fraction of the best are ties. */
    public static final double TIE = 0.01;

    private Labels() {}

    /** A family's optimal served count, with one of its rows to describe it. */
    public record Served(SweepRow example, int optimum) {}

    /** A workload's best slot count among the configurations that meet the SLO. */
    public record Slots(SweepRow example, int optimum, double throughput) {}

    /** A workload's best placement for an objective. */
    public record Placement(SweepRow best) {}

    /** The optimum served adapters per family under {@code slo}. */
    public static List<Served> served(List<SweepRow> rows, SloSpec slo) {
        List<Served> out = new ArrayList<>();
        for (List<SweepRow> family :
                groups(rows, r -> r.familyKey() + "|" + r.placementKey()).values()) {
            TreeMap<Integer, Boolean> servesAt = new TreeMap<>();
            for (SweepRow r : family) {
                servesAt.merge(r.served(), r.meets(slo), Boolean::logicalOr);
            }
            int optimum = 0;
            for (Map.Entry<Integer, Boolean> e : servesAt.entrySet()) {
                if (!e.getValue()) {
                    break;
                }
                optimum = e.getKey();
            }
            out.add(new Served(family.getFirst(), optimum));
        }
        return out;
    }

    /** The best slot count per workload that has a configuration meeting {@code slo}. */
    public static List<Slots> slots(List<SweepRow> rows, SloSpec slo) {
        List<Slots> out = new ArrayList<>();
        for (List<SweepRow> w :
                groups(rows, r -> r.workloadKey() + "|" + r.placementKey()).values()) {
            List<SweepRow> ok = w.stream().filter(r -> r.meets(slo)).toList();
            if (ok.isEmpty()) {
                continue;
            }
            double best = ok.stream().mapToDouble(SweepRow::throughputTps).max().orElseThrow();
            SweepRow pick = ok.stream()
                    .filter(r -> r.throughputTps() >= (1 - TIE) * best)
                    .min(Comparator.comparingInt(SweepRow::slots))
                    .orElseThrow();
            out.add(new Slots(pick, pick.slots(), pick.throughputTps()));
        }
        return out;
    }

    /** What "best" means for the placement labels. */
    public enum Objective {
        /** The most throughput per GPU among configurations that meet the SLO. */
        THROUGHPUT_PER_GPU,
        /** The lowest cost per hour among configurations that meet the SLO. */
        COST;

        public static Objective parse(String s) {
            return switch (s.toLowerCase(Locale.ROOT).replace('-', '_')) {
                case "throughput_per_gpu" -> THROUGHPUT_PER_GPU;
                case "cost" -> COST;
                default ->
                    throw new IllegalArgumentException("objective must be throughput-per-gpu or cost, got '" + s + "'");
            };
        }
    }

    /**
     * The best configuration (pool, tp, KV setting, slots) per workload for the objective, among those that
     * meet {@code slo}. Workloads with no qualifying configuration get no label, nor do those run on one pool, tp and
     * KV setting only (a dataset that joins a grid of one configuration to one that varies them: the former's
     * workloads had no choice to learn from).
     */
    public static List<Placement> placements(List<SweepRow> rows, Objective objective, SloSpec slo) {
        List<Placement> out = new ArrayList<>();
        for (List<SweepRow> w : groups(rows, SweepRow::workloadKey).values()) {
            if (w.stream().map(SweepRow::placementKey).distinct().count() < 2) {
                continue;
            }
            List<SweepRow> ok = w.stream().filter(r -> r.meets(slo)).toList();
            if (ok.isEmpty()) {
                continue;
            }
            Comparator<SweepRow> order = objective == Objective.COST
                    ? Comparator.comparingDouble(SweepRow::costPerHour)
                            .thenComparing(Comparator.comparingDouble(SweepRow::throughputTps)
                                    .reversed())
                    : Comparator.comparingDouble((SweepRow r) -> -r.throughputTps() / r.tp())
                            .thenComparingDouble(SweepRow::costPerHour);
            out.add(new Placement(
                    ok.stream().min(order.thenComparingLong(SweepRow::scenario)).orElseThrow()));
        }
        return out;
    }

    static <K> Map<K, List<SweepRow>> groups(List<SweepRow> rows, Function<SweepRow, K> key) {
        Map<K, List<SweepRow>> g = new LinkedHashMap<>();
        for (SweepRow r : rows) {
            g.computeIfAbsent(key.apply(r), k -> new ArrayList<>()).add(r);
        }
        return g;
    }
}
