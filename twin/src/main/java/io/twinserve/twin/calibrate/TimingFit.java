package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.perf.RooflinePerfModel;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import org.apache.commons.math3.fitting.leastsquares.LeastSquaresBuilder;
import org.apache.commons.math3.fitting.leastsquares.LeastSquaresOptimizer;
import org.apache.commons.math3.fitting.leastsquares.LevenbergMarquardtOptimizer;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.RealMatrix;
import org.apache.commons.math3.linear.RealVector;
import org.apache.commons.math3.util.Pair;

/**
 * Fits the step-time parameters of the roofline jointly to every timing family by Levenberg-Marquardt
 * (Commons Math) on relative errors, each family weighted equally whatever its number of rows, and checks
 * the fit by leaving one family out at a time: fit on the others, predict the held-out rows.
 *
 * <p>Parameters live in an unbounded space: efficiencies through a logistic, costs as a floor plus an
 * exponential (the floor is the scheduler's own measured share of the step and per-sequence costs).
 */
final class TimingFit {
    /** A free parameter: which, its starting value and its floor (costs) or 0 (efficiencies). */
    record Free(Term term, double start, double floor) {
        boolean efficiency() {
            return term.efficiency();
        }

        String key() {
            return term.key;
        }

        double value(double theta) {
            return efficiency() ? MAX_EFFICIENCY / (1 + Math.exp(-theta)) : floor + Math.exp(theta);
        }

        double theta() {
            if (efficiency()) {
                return Math.log(start / (MAX_EFFICIENCY - start));
            }
            return Math.log(Math.max(start - floor, 1));
        }
    }

    /** Held-out error of one family. */
    record HeldOut(String family, int rows, double meanAbsErrorPct, double maxAbsErrorPct) {}

    static final double INDIRECT_WEIGHT = 0.3;
    /** No kernel reaches the datasheet's figure; an efficiency above this is a fit trading off overheads. */
    static final double MAX_EFFICIENCY = 0.9;

    private final Function<RooflineParams, RooflinePerfModel> perfOf;
    private final RooflineParams base;
    private final List<Free> free;

    TimingFit(Function<RooflineParams, RooflinePerfModel> perfOf, RooflineParams base, List<Free> free) {
        this.perfOf = perfOf;
        this.base = base;
        this.free = free;
    }

    /**
     * The free parameters of a model's fit: the scheduler's measured floors (null without the scheduler
     * table) bound the step and per-sequence costs; a model with its own LoRA runs also fits its per-token
     * LoRA costs and FLOP efficiency, the others borrow them.
     */
    // The FLOP efficiencies keep their priors (0.6 linear, 0.5 attention: typical of bf16 GEMMs and
    // attention kernels on Hopper): decode steps are memory-bound, and the prefill bursts vary the prompt
    // length only three ways, so a free FLOP rate trades off against the cost per new request (a first
    // joint fit drove Llama's to 0.92 and Qwen's to 0.26).
    static List<Free> freeParameters(double[] scheduler, boolean ownLoraTokenCosts) {
        double stepFloor = scheduler == null ? 0 : scheduler[0];
        double sequenceFloor = scheduler == null ? 0 : scheduler[1];
        List<Free> free = new ArrayList<>(List.of(
                new Free(Term.HBM_EFFICIENCY, 0.7, 0),
                new Free(Term.STEP_OVERHEAD_NS, stepFloor + 500_000, stepFloor),
                new Free(Term.PER_SEQUENCE_NS, sequenceFloor + 10_000, sequenceFloor),
                new Free(Term.PER_NEW_REQUEST_NS, 1_000_000, 0),
                new Free(Term.LORA_ENABLED_NS, 1_000_000, 0),
                new Free(Term.LORA_PER_SLOT_NS, 20_000, 0),
                new Free(Term.LORA_PER_SLOT_TILE_NS, 0.5, 0),
                new Free(Term.LORA_FIXED_NS, 10_000_000, 0),
                new Free(Term.LORA_PER_ADAPTER_NS, 300_000, 0),
                // identified by the TTFT rows alone (lone requests, short prefill bursts): their time outside the
                // steps; without it the fit pulled the LoRA-enabled step cost up to cover a lone request's TTFT
                new Free(Term.REQUEST_LATENCY_NS, 3_000_000, 0)));
        // the linear layers' FLOP efficiency and compute floor: every model's decode bursts of 50 to 1,000 sequences
        // identify both (the slope and where the compute-bound line starts)
        free.add(new Free(Term.FLOPS_EFFICIENCY, 0.6, 0));
        free.add(new Free(Term.LINEAR_TOKEN_OFFSET, 200, 0));
        free.add(new Free(Term.EAGER_STEP_NS, 1_000_000, 0));
        if (ownLoraTokenCosts) {
            // per token, not per token and unit of rank: every LoRA compute run here is of rank 8, so the data cannot
            // tell how the cost grows with rank, and at ranks of 8 to 64 the shrink and expand kernels are bound by
            // their launches and reads rather than their FLOPs (which the roofline's LoRA term still prices by rank);
            // per unit of rank, a rank-32 workload would pay four times the measured rank-8 cost
            free.add(new Free(Term.LORA_PER_TOKEN_NS, 10_000, 0));
            free.add(new Free(Term.LORA_PER_TOKEN_ADAPTER_NS, 100, 0));
            // an adapter held in a slot but not in the batch costs only where the slots hold more adapters than
            // the batch uses: the scheduler-overhead runs (in the bursts every held adapter is also in the batch,
            // so there it cannot be told from the per-distinct-adapter cost)
            free.add(new Free(Term.LORA_PER_LOADED_ADAPTER_NS, 20_000, 0));
        }
        return free;
    }

    static List<FitRow> reproduce(List<TimingRow> rows, String name, RooflinePerfModel perf) {
        List<FitRow> out = new ArrayList<>();
        for (TimingRow r : rows) {
            double predicted = r.predict(perf);
            out.add(new FitRow(
                    r.family(),
                    r.file(),
                    name,
                    r.key(),
                    r.quantity(),
                    r.measured(),
                    FitRow.round(predicted),
                    FitRow.pct(predicted, r.measured())));
        }
        return out;
    }

    RooflineParams fit(List<TimingRow> rows) {
        Map<String, Integer> sizes = new LinkedHashMap<>();
        for (TimingRow r : rows) {
            sizes.merge(r.family(), 1, Integer::sum);
        }
        double[] weight = new double[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            String f = rows.get(i).family();
            // the scheduler table's runs are priced from their means, with the model and lengths assumed: they
            // inform the fit (the only runs that vary batch and adapter mix together) without outvoting the
            // families whose every setting is known
            weight[i] = (f.startsWith("scheduler") ? INDIRECT_WEIGHT : 1) / Math.sqrt(sizes.get(f));
        }
        double[] start = new double[free.size()];
        for (int j = 0; j < start.length; j++) {
            start[j] = free.get(j).theta();
        }
        LeastSquaresOptimizer.Optimum o = new LevenbergMarquardtOptimizer()
                .optimize(new LeastSquaresBuilder()
                        .start(start)
                        .target(new double[rows.size()])
                        .model(theta -> residualsAndJacobian(rows, weight, theta.toArray()))
                        .maxEvaluations(20_000)
                        .maxIterations(2_000)
                        .build());
        return params(o.getPoint().toArray());
    }

    /** Fits without each family in turn and prices its rows with that fit. */
    List<HeldOut> leaveOneFamilyOut(List<TimingRow> rows) {
        Set<String> families = new LinkedHashSet<>();
        for (TimingRow r : rows) {
            families.add(r.family());
        }
        List<HeldOut> out = new ArrayList<>();
        for (String f : families) {
            List<TimingRow> train = new ArrayList<>();
            List<TimingRow> test = new ArrayList<>();
            for (TimingRow r : rows) {
                (r.family().equals(f) ? test : train).add(r);
            }
            RooflinePerfModel perf = perfOf.apply(fit(train));
            double sum = 0;
            double max = 0;
            for (TimingRow r : test) {
                double e = Math.abs((r.predict(perf) - r.measured()) / r.measured() * 100);
                sum += e;
                max = Math.max(max, e);
            }
            out.add(new HeldOut(f, test.size(), sum / test.size(), max));
        }
        return out;
    }

    private RooflineParams params(double[] theta) {
        double[] v = new double[free.size()];
        List<Term> terms = new ArrayList<>(free.size());
        for (int j = 0; j < v.length; j++) {
            v[j] = free.get(j).value(theta[j]);
            terms.add(free.get(j).term());
        }
        return base.with(terms, v);
    }

    private double[] residuals(List<TimingRow> rows, double[] weight, double[] theta) {
        RooflinePerfModel perf = perfOf.apply(params(theta));
        double[] r = new double[rows.size()];
        for (int i = 0; i < r.length; i++) {
            TimingRow row = rows.get(i);
            r[i] = weight[i] * (row.predict(perf) - row.measured()) / row.measured();
        }
        return r;
    }

    private Pair<RealVector, RealMatrix> residualsAndJacobian(List<TimingRow> rows, double[] weight, double[] theta) {
        double[] r0 = residuals(rows, weight, theta);
        double[][] jac = new double[r0.length][theta.length];
        // forward differences: the model has no closed-form derivative through the roofline's max()
        for (int j = 0; j < theta.length; j++) {
            double h = 1e-5 * Math.max(1, Math.abs(theta[j]));
            double[] t = theta.clone();
            t[j] += h;
            double[] r1 = residuals(rows, weight, t);
            for (int i = 0; i < r0.length; i++) {
                jac[i][j] = (r1[i] - r0[i]) / h;
            }
        }
        return new Pair<>(new ArrayRealVector(r0, false), new Array2DRowRealMatrix(jac, false));
    }
}
