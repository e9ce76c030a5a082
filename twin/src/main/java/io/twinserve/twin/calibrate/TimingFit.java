package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflineParams;
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
  /** A free parameter: its key, its starting value and its floor (costs) or 0 (efficiencies). */
  record Free(String key, double start, double floor) {
    boolean efficiency() {
      return key.endsWith("efficiency");
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
    LeastSquaresOptimizer.Optimum o = new LevenbergMarquardtOptimizer().optimize(new LeastSquaresBuilder()
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
    String[] keys = new String[free.size()];
    for (int j = 0; j < v.length; j++) {
      v[j] = free.get(j).value(theta[j]);
      keys[j] = free.get(j).key();
    }
    return base.with(v, keys);
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

  private Pair<org.apache.commons.math3.linear.RealVector, org.apache.commons.math3.linear.RealMatrix>
      residualsAndJacobian(List<TimingRow> rows, double[] weight, double[] theta) {
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
