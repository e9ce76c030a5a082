package io.twinserve.engine.profile;

import java.util.List;

/**
 * Least squares with every coefficient >= 0 for a handful of regressors, by trying each subset of them
 * (the optimum of a non-negative problem is an unconstrained fit on the subset it leaves positive) and
 * keeping the feasible fit with the smallest squared error. Exact, and cheap below about ten columns.
 */
final class NonNegativeLeastSquares {
  private NonNegativeLeastSquares() {}

  static double[] solve(List<double[]> x, List<Double> y, int columns) {
    double[] best = new double[columns];
    double bestError = error(x, y, best);
    for (int mask = 1; mask < 1 << columns; mask++) {
      double[] b = fit(x, y, columns, mask);
      if (b == null) {
        continue;
      }
      boolean feasible = true;
      for (double v : b) {
        feasible &= v >= 0 && Double.isFinite(v);
      }
      double e = feasible ? error(x, y, b) : Double.POSITIVE_INFINITY;
      if (e < bestError) {
        bestError = e;
        best = b;
      }
    }
    return best;
  }

  /** Ordinary least squares on the columns in {@code mask} (others 0); null when they are collinear. */
  private static double[] fit(List<double[]> x, List<Double> y, int columns, int mask) {
    int[] cols = new int[Integer.bitCount(mask)];
    for (int c = 0, k = 0; c < columns; c++) {
      if ((mask & 1 << c) != 0) {
        cols[k++] = c;
      }
    }
    int n = cols.length;
    double[][] a = new double[n][n + 1];
    for (int r = 0; r < x.size(); r++) {
      double[] row = x.get(r);
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          a[i][j] += row[cols[i]] * row[cols[j]];
        }
        a[i][n] += row[cols[i]] * y.get(r);
      }
    }
    // Gauss-Jordan elimination with partial pivoting
    for (int p = 0; p < n; p++) {
      int pivot = p;
      for (int i = p + 1; i < n; i++) {
        if (Math.abs(a[i][p]) > Math.abs(a[pivot][p])) {
          pivot = i;
        }
      }
      if (Math.abs(a[pivot][p]) < 1e-12 * Math.max(1, Math.abs(a[p][p]))) {
        return null;
      }
      double[] t = a[p];
      a[p] = a[pivot];
      a[pivot] = t;
      for (int i = 0; i < n; i++) {
        if (i != p) {
          double f = a[i][p] / a[p][p];
          for (int j = p; j <= n; j++) {
            a[i][j] -= f * a[p][j];
          }
        }
      }
    }
    double[] b = new double[columns];
    for (int i = 0; i < n; i++) {
      b[cols[i]] = a[i][n] / a[i][i];
    }
    return b;
  }

  private static double error(List<double[]> x, List<Double> y, double[] b) {
    double e = 0;
    for (int r = 0; r < x.size(); r++) {
      double p = 0;
      for (int c = 0; c < b.length; c++) {
        p += x.get(r)[c] * b[c];
      }
      e += (p - y.get(r)) * (p - y.get(r));
    }
    return e;
  }
}
