package io.twinserve.twin.calibrate;

import java.util.List;
import org.apache.commons.math3.exception.MathIllegalArgumentException;
import org.apache.commons.math3.linear.Array2DRowRealMatrix;
import org.apache.commons.math3.linear.ArrayRealVector;
import org.apache.commons.math3.linear.QRDecomposition;
import org.apache.commons.math3.linear.RealVector;

/**
 * Linear least squares x·c = y for a handful of regressors, unconstrained or with every coefficient >= 0;
 * the one solver of the twin's calibration and of the engine's profile fit.
 *
 * <p>The non-negative fit is exact: when the unconstrained fit is already non-negative it is the answer;
 * otherwise the optimum is an unconstrained fit on the subset of columns it leaves positive, so every
 * subset is fitted and the feasible fit with the smallest squared error kept (all zeros when none is).
 * Cheap below about ten columns. Each fit is by QR decomposition of x (not the normal equations, whose
 * condition number squares x's: the columns here mix constants with byte counts).
 */
public final class LeastSquares {
    /** Subsets grow as 2^columns: past this the exhaustive non-negative fit is the wrong tool. */
    private static final int MAX_NON_NEGATIVE_COLUMNS = 16;

    private LeastSquares() {}

    /** The unconstrained least-squares coefficients; throws when the columns are collinear. */
    public static double[] fit(List<double[]> x, List<Double> y) {
        int columns = columns(x);
        double[] c = fit(x, y, columns, (1 << columns) - 1);
        if (c == null) {
            throw new IllegalArgumentException("least squares: the " + columns + " columns of the " + x.size()
                    + " rows are collinear; expected independent columns and at least as many rows as columns");
        }
        return c;
    }

    /** The least-squares coefficients with every one >= 0 (see the class comment); throws without rows. */
    public static double[] fitNonNegative(List<double[]> x, List<Double> y) {
        return fitNonNegative(x, y, columns(x));
    }

    /** {@link #fitNonNegative(List, List)} for rows of {@code columns} values; all zeros without rows. */
    public static double[] fitNonNegative(List<double[]> x, List<Double> y, int columns) {
        if (columns > MAX_NON_NEGATIVE_COLUMNS) {
            throw new IllegalArgumentException("non-negative least squares tries every subset of columns: " + columns
                    + " columns is too many; at most " + MAX_NON_NEGATIVE_COLUMNS + " are allowed");
        }
        int all = (1 << columns) - 1;
        double[] full = x.isEmpty() ? null : fit(x, y, columns, all);
        if (full != null && feasible(full)) {
            return full;
        }
        double[] best = new double[columns];
        double bestError = squaredError(x, y, best);
        for (int mask = 1; mask < all; mask++) {
            double[] c = fit(x, y, columns, mask);
            if (c == null || !feasible(c)) {
                continue;
            }
            double e = squaredError(x, y, c);
            if (e < bestError) {
                bestError = e;
                best = c;
            }
        }
        return best;
    }

    private static int columns(List<double[]> x) {
        if (x.isEmpty()) {
            throw new IllegalArgumentException("least squares: no rows; expected at least one");
        }
        return x.getFirst().length;
    }

    private static boolean feasible(double[] c) {
        for (double v : c) {
            if (!(v >= 0) || !Double.isFinite(v)) {
                return false;
            }
        }
        return true;
    }

    /** Least squares on the columns in {@code mask} (the others 0); null when they are collinear. */
    private static double[] fit(List<double[]> x, List<Double> y, int columns, int mask) {
        int m = Integer.bitCount(mask);
        if (x.size() < m) {
            return null;
        }
        double[][] a = new double[x.size()][m];
        double[] b = new double[x.size()];
        for (int i = 0; i < x.size(); i++) {
            double[] row = x.get(i);
            for (int j = 0, c = 0; j < columns; j++) {
                if ((mask & 1 << j) != 0) {
                    a[i][c++] = row[j];
                }
            }
            b[i] = y.get(i);
        }
        RealVector solution;
        try {
            solution = new QRDecomposition(new Array2DRowRealMatrix(a, false))
                    .getSolver()
                    .solve(new ArrayRealVector(b, false));
        } catch (MathIllegalArgumentException singular) {
            return null;
        }
        double[] out = new double[columns];
        for (int j = 0, c = 0; j < columns; j++) {
            if ((mask & 1 << j) != 0) {
                out[j] = solution.getEntry(c++);
            }
        }
        return out;
    }

    private static double squaredError(List<double[]> x, List<Double> y, double[] c) {
        double e = 0;
        for (int i = 0; i < x.size(); i++) {
            double p = 0;
            for (int j = 0; j < c.length; j++) {
                p += x.get(i)[j] * c[j];
            }
            double d = p - y.get(i);
            e += d * d;
        }
        return e;
    }
}
