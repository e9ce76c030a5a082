package io.twinserve.placement;

import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import com.oracle.labs.mlrg.olcut.provenance.impl.ConfiguredObjectProvenanceImpl;
import java.util.List;
import org.tribuo.regression.rtree.impurity.RegressorImpurity;

/**
 * The mean squared error impurity of Tribuo's regression trees, kept as running sums across a split search.
 *
 * <p>Why not Tribuo's own {@code MeanSquaredError}: Tribuo's CART regression node scans a feature's distinct values
 * in order and, at each split point {@code j}, asks the impurity of the values up to {@code j} and of those after it,
 * each as a list of the values' index arrays. Its impurity sums every list from scratch, so one feature of one node
 * costs distinct values x rows: quadratic in the rows for a continuous feature. A throughput dataset's 16,000 rows
 * made those sums about half of {@code twinserve train}'s time (JFR, 2026-12-08). Here the split search's lists are
 * recognised as one more array than the last prefix, or one fewer than the last suffix, and their sums updated by
 * that array alone; any other list is summed in full. The sums are in double (Tribuo's are in float, whose squares
 * of throughputs in the thousands keep about three digits of a variance), around the first value summed.
 *
 * <p>One instance per tree: it keeps the last prefix and suffix between calls.
 */
final class RunningMeanSquaredError implements RegressorImpurity {
    /** The running sums of one side of a split: the list's first, second and last arrays identify it. */
    private static final class Side {
        int[] first;
        int[] second;
        int[] last;
        int size;
        float[] targets;
        float[] weights;
        double shift;
        double w;
        double wy;
        double wyy;

        void add(int[] idx, int sign) {
            add(idx, idx.length, sign);
        }

        void add(int[] idx, int length, int sign) {
            for (int k = 0; k < length; k++) {
                int i = idx[k];
                double wi = weights[i];
                double y = targets[i] - shift;
                w += sign * wi;
                wy += sign * wi * y;
                wyy += sign * wi * y * y;
            }
        }

        ImpurityTuple tuple() {
            if (w <= 0) {
                return new ImpurityTuple(0f, (float) w);
            }
            double mean = wy / w;
            return new ImpurityTuple((float) Math.max(0, wyy / w - mean * mean), (float) w);
        }

        void start(List<int[]> lists, float[] targets, float[] weights) {
            this.targets = targets;
            this.weights = weights;
            this.shift = targets[lists.getFirst()[0]];
            w = 0;
            wy = 0;
            wyy = 0;
            for (int[] idx : lists) {
                add(idx, 1);
            }
            size = lists.size();
            first = lists.getFirst();
            second = size > 1 ? lists.get(1) : null;
            last = lists.getLast();
        }
    }

    private final Side prefix = new Side();
    private final Side suffix = new Side();

    @Override
    public ImpurityTuple impurityTuple(List<int[]> lists, float[] targets, float[] weights) {
        int n = lists.size();
        if (n == 0 || lists.getFirst().length == 0) {
            return sumAll(lists, targets, weights);
        }
        // the split search's next left side: the last prefix and one more array
        if (prefix.size > 0
                && n == prefix.size + 1
                && prefix.targets == targets
                && prefix.weights == weights
                && lists.getFirst() == prefix.first
                && lists.get(n - 2) == prefix.last) {
            int[] next = lists.get(n - 1);
            prefix.add(next, 1);
            prefix.last = next;
            prefix.size = n;
            return prefix.tuple();
        }
        // its next right side: the last suffix without its first array
        if (suffix.size > 1
                && n == suffix.size - 1
                && suffix.targets == targets
                && suffix.weights == weights
                && lists.getFirst() == suffix.second
                && lists.get(n - 1) == suffix.last) {
            suffix.add(suffix.first, -1);
            suffix.first = suffix.second;
            suffix.second = n > 1 ? lists.get(1) : null;
            suffix.size = n;
            return suffix.tuple();
        }
        // a search starts with a left side of one array and a right side of the rest
        Side side = n == 1 ? prefix : suffix;
        side.start(lists, targets, weights);
        return side.tuple();
    }

    private static ImpurityTuple sumAll(List<int[]> lists, float[] targets, float[] weights) {
        Side s = new Side();
        s.targets = targets;
        s.weights = weights;
        for (int[] idx : lists) {
            if (idx.length > 0 && s.w == 0) {
                s.shift = targets[idx[0]];
            }
            s.add(idx, 1);
        }
        return s.tuple();
    }

    @Override
    public ImpurityTuple impurityTuple(int[] indices, int indicesLength, float[] targets, float[] weights) {
        Side s = new Side();
        s.targets = targets;
        s.weights = weights;
        if (indicesLength > 0) {
            s.shift = targets[indices[0]];
        }
        s.add(indices, indicesLength, 1);
        return s.tuple();
    }

    @Override
    public double impurity(float[] targets, float[] weights) {
        double w = 0;
        double wy = 0;
        for (int i = 0; i < targets.length; i++) {
            w += weights[i];
            wy += weights[i] * (double) targets[i];
        }
        if (w <= 0) {
            return 0;
        }
        double mean = wy / w;
        double sq = 0;
        for (int i = 0; i < targets.length; i++) {
            double e = targets[i] - mean;
            sq += weights[i] * e * e;
        }
        return sq / w;
    }

    @Override
    public String toString() {
        return "RunningMeanSquaredError";
    }

    @Override
    public ConfiguredObjectProvenance getProvenance() {
        return new ConfiguredObjectProvenanceImpl(this, "RegressorImpurity");
    }
}
