package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A first-order estimate of the share of one GPU an adapter's traffic takes, fitted per model from the
 * served labels: an adapter that sends r requests/s of P prompt and O output tokens uses
 * {@code r (P c_p + O c_o)} of a GPU, so one GPU serves about the inverse of that many adapters. The trees
 * split on this one number (feature {@code adapter_load}, and {@code offered_load} = served x it) instead of
 * having to carve the hyperbola of rate against two lengths out of three features with axis-aligned splits:
 * across the grid's length shapes the prompt and output costs differ by an order of magnitude, which the
 * tree could only learn cell by cell.
 *
 * <p>A GPU of another type, or tp, changes those costs several-fold, so the rows on pools outside the main grid (a
 * grid of other GPUs trained beside it) get an estimate per pool and tp ({@link #configKey}); the model's own is
 * fitted on its main grid's rows, as before (every row when there is no other grid).
 *
 * @param perModel {c_p, c_o}, GPU-seconds per prompt token and per output token, per model and per {@link #configKey}
 * @param byConfig the same per-configuration estimates by model, pool and tp (derived from {@code perModel}: the
 *     planner's hot path looks them up without building a key)
 */
public record LoadModel(Map<String, double[]> perModel, Map<String, Map<String, Map<Integer, double[]>>> byConfig) {

    /** No estimate: the features read 0 (a model trained before they existed does not use them). */
    public static final LoadModel NONE = new LoadModel(Map.of());

    /** The estimates keyed as {@link #perModel}. */
    public LoadModel(Map<String, double[]> perModel) {
        this(perModel, index(perModel));
    }

    private static Map<String, Map<String, Map<Integer, double[]>>> index(Map<String, double[]> perModel) {
        Map<String, Map<String, Map<Integer, double[]>>> out = new java.util.HashMap<>();
        for (Map.Entry<String, double[]> e : perModel.entrySet()) {
            String k = e.getKey();
            int at = k.indexOf('@');
            int tpAt = k.lastIndexOf("/tp");
            if (at < 0 || tpAt < at) {
                continue;
            }
            try {
                out.computeIfAbsent(k.substring(0, at), m -> new java.util.HashMap<>())
                        .computeIfAbsent(k.substring(at + 1, tpAt), p -> new java.util.HashMap<>())
                        .put(Integer.parseInt(k.substring(tpAt + 3)), e.getValue());
            } catch (NumberFormatException ignored) {
                // not a configuration's key
            }
        }
        return out;
    }

    /** The share of one GPU an adapter of {@code w} takes (0 when the model has no estimate). */
    public double adapterLoad(WorkloadFeatures w) {
        double[] c = null;
        Map<String, Map<Integer, double[]>> pools = byConfig.get(w.model());
        if (pools != null) {
            Map<Integer, double[]> tps = pools.get(w.pool());
            c = tps == null ? null : tps.get(w.tp());
        }
        if (c == null) {
            c = perModel.get(w.model());
        }
        if (c == null) {
            return 0;
        }
        double mean = (w.rates()[0] + w.rates()[1] + w.rates()[2]) / 3;
        return mean * (w.promptMean() * c[0] + w.outputMean() * c[1]);
    }

    /**
     * Fits {c_p, c_o} per model by least squares on relative errors over the families whose optimum served
     * count is known (above 0 and below the grid's largest count, where it is only a bound): the inverse of
     * the optimum against the rate-weighted prompt and output tokens, each coefficient kept non-negative.
     */
    public static LoadModel fit(List<SweepRow> rows, SloSpec slo) {
        return fit(rows, slo, null);
    }

    /**
     * As {@link #fit(List, SloSpec)}, the model's estimate from the rows on {@code mainPools} and one per pool and tp
     * of the others (null: every pool is the main grid's, one estimate per model).
     */
    public static LoadModel fit(List<SweepRow> rows, SloSpec slo, java.util.Set<String> mainPools) {
        Map<String, List<double[]>> points = new TreeMap<>();
        int largest = rows.stream().mapToInt(SweepRow::served).max().orElse(0);
        for (Labels.Served s : Labels.served(rows, slo)) {
            if (s.optimum() <= 0 || s.optimum() >= largest) {
                continue;
            }
            SweepRow r = s.example();
            double mean = (r.rate1() + r.rate2() + r.rate3()) / 3;
            String key = mainPools == null || mainPools.contains(r.pool())
                    ? r.model()
                    : configKey(r.model(), r.pool(), r.tp());
            points.computeIfAbsent(key, k -> new ArrayList<>())
                    .add(new double[] {mean * r.promptMean(), mean * r.outputMean(), 1.0 / s.optimum()});
        }
        Map<String, double[]> out = new TreeMap<>();
        points.forEach((key, p) -> out.put(key, nonNegative(p)));
        return new LoadModel(out);
    }

    /** The key of a model's estimate on one pool at one tp. */
    static String configKey(String model, String pool, int tp) {
        return model + "@" + pool + "/tp" + tp;
    }

    /**
     * y ~ a x1 + b x2 on relative errors (each point weighted by 1/y^2), a, b >= 0: the two-variable normal
     * equations, and when one coefficient comes out negative, the fit with the other alone. Two unknowns need
     * no library (Commons Math's solvers would take longer to set up than this takes to read).
     */
    static double[] nonNegative(List<double[]> p) {
        double s11 = 0;
        double s12 = 0;
        double s22 = 0;
        double s1y = 0;
        double s2y = 0;
        for (double[] q : p) {
            double w = 1 / (q[2] * q[2]);
            s11 += w * q[0] * q[0];
            s12 += w * q[0] * q[1];
            s22 += w * q[1] * q[1];
            s1y += w * q[0] * q[2];
            s2y += w * q[1] * q[2];
        }
        double det = s11 * s22 - s12 * s12;
        double a = det == 0 ? -1 : (s1y * s22 - s2y * s12) / det;
        double b = det == 0 ? -1 : (s2y * s11 - s1y * s12) / det;
        if (a >= 0 && b >= 0) {
            return new double[] {a, b};
        }
        double onlyA = s11 > 0 ? Math.max(0, s1y / s11) : 0;
        double onlyB = s22 > 0 ? Math.max(0, s2y / s22) : 0;
        // of the two one-coefficient fits, the one with the smaller weighted squared error
        double errA = 0;
        double errB = 0;
        for (double[] q : p) {
            double w = 1 / (q[2] * q[2]);
            errA += w * Math.pow(onlyA * q[0] - q[2], 2);
            errB += w * Math.pow(onlyB * q[1] - q[2], 2);
        }
        return errA <= errB ? new double[] {onlyA, 0} : new double[] {0, onlyB};
    }

    /** Reads the estimate as model.json stores it under {@code training.load_model} (absent: {@link #NONE}). */
    @SuppressWarnings("unchecked")
    public static LoadModel of(Object stored) {
        if (!(stored instanceof Map<?, ?> m)) {
            return NONE;
        }
        Map<String, double[]> out = new TreeMap<>();
        for (Map.Entry<?, ?> e : m.entrySet()) {
            Object v = e.getValue();
            double[] c = v instanceof double[] d
                    ? d
                    : ((List<Number>) v)
                            .stream().mapToDouble(Number::doubleValue).toArray();
            out.put(e.getKey().toString(), c);
        }
        return new LoadModel(out);
    }
}
