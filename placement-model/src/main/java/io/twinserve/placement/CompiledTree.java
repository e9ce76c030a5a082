package io.twinserve.placement;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.tribuo.ImmutableFeatureMap;
import org.tribuo.Model;
import org.tribuo.Output;
import org.tribuo.classification.Label;
import org.tribuo.common.tree.LeafNode;
import org.tribuo.common.tree.Node;
import org.tribuo.common.tree.SplitNode;
import org.tribuo.common.tree.TreeModel;
import org.tribuo.ensemble.EnsembleModel;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.rtree.IndependentRegressionTreeModel;

/**
 * A Tribuo CART tree, or an averaging ensemble of them (a bagged forest), flattened into arrays over the
 * planner's own feature vector, so that a prediction is a walk of a few dozen array reads per tree with no
 * allocation. Written by hand because Tribuo's
 * {@code predict} builds an example, a sparse vector and a prediction object per call (microseconds);
 * the planner's latency target is a few microseconds for several trees. Its answers equal Tribuo's
 * (a test compares them on every held-out example), and its path is what the planner explains.
 */
public final class CompiledTree {
    private final int[] feature;
    private final double[] threshold;
    private final int[] low;
    private final int[] high;
    private final double[] value;
    private final String[] labels;
    private final String[] featureNames;
    // the hot path's copy of the nodes, in depth-first order: per node two longs, the threshold's bits (a leaf's
    // value's) and the node's links: the feature in the top 16 bits, the low child's node in the next 24 and the high
    // child's in the low 24. A leaf links to itself on both sides, and a split on a feature the vector lacks (it
    // reads 0) is resolved when packing, so a walk is exactly {@link #depth} steps of a read, a compare and a
    // select, with no test for leaves: a forest's members are walked four abreast (their loads overlap) and no
    // branch depends on where a walk ends. One 16-byte node a step, most steps to a nearby node.
    private final long[] packed;
    // the longest root-to-leaf path of the packed tree (an ensemble: of any member)
    private final int depth;
    // an ensemble's members (its prediction is their mean, or their majority vote), or null for one tree
    private final CompiledTree[] members;
    // a classifying ensemble's labels are the union of its members'; memberLabel[m][k] is member m's label k there
    private final int[][] memberLabel;

    private CompiledTree(CompiledTree[] members) {
        this.feature = new int[0];
        this.threshold = new double[0];
        this.low = new int[0];
        this.high = new int[0];
        this.value = new double[0];
        List<String> union = new ArrayList<>();
        this.memberLabel = new int[members.length][];
        for (int m = 0; m < members.length; m++) {
            memberLabel[m] = new int[members[m].labels.length];
            for (int k = 0; k < members[m].labels.length; k++) {
                int at = union.indexOf(members[m].labels[k]);
                if (at < 0) {
                    at = union.size();
                    union.add(members[m].labels[k]);
                }
                memberLabel[m][k] = at;
            }
        }
        this.labels = union.toArray(String[]::new);
        this.featureNames = members[0].featureNames;
        this.members = members;
        this.packed = new long[0];
        int d = 0;
        for (CompiledTree m : members) {
            d = Math.max(d, m.depth);
        }
        this.depth = d;
    }

    private CompiledTree(
            int[] feature,
            double[] threshold,
            int[] low,
            int[] high,
            double[] value,
            String[] labels,
            String[] featureNames) {
        this.feature = feature;
        this.threshold = threshold;
        this.low = low;
        this.high = high;
        this.value = value;
        this.labels = labels;
        this.featureNames = featureNames;
        this.members = null;
        this.memberLabel = null;
        this.packed = pack(feature, threshold, low, high, value);
        this.depth = packedDepth(packed);
    }

    private static final int LEAF = -2;
    private static final int MISSING = -1;
    private static final long CHILD = 0xFFFFFFL;

    /** The nodes in depth-first order, packed as {@link #packed} says. */
    private static long[] pack(int[] feature, double[] threshold, int[] low, int[] high, double[] value) {
        if (feature.length >= CHILD) {
            throw new IllegalArgumentException("a tree of " + feature.length + " nodes (the packed walk takes 2^24)");
        }
        long[] out = new long[2 * feature.length];
        int[] stack = new int[feature.length + 1];
        // each entry: an original node to emit, and where its parent's link to it goes (-1: the root; even: the low
        // child's field of node slot/2, odd: the high child's)
        int[] linkAt = new int[feature.length + 1];
        int top = 0;
        stack[top] = 0;
        linkAt[top++] = -1;
        int next = 0;
        while (top > 0) {
            int i = stack[--top];
            int link = linkAt[top];
            // a split on a feature the vector lacks reads 0: its side is known, the split is skipped
            while (feature[i] == MISSING) {
                i = 0 > threshold[i] ? high[i] : low[i];
            }
            int k = next++;
            if (link >= 0) {
                out[2 * (link / 2) + 1] |= link % 2 == 0 ? (long) k << 24 : k;
            }
            if (feature[i] == LEAF) {
                out[2 * k] = Double.doubleToRawLongBits(value[i]);
                out[2 * k + 1] = ((long) k << 24) | k;
            } else {
                if (feature[i] >= 1 << 16) {
                    throw new IllegalArgumentException("feature " + feature[i] + " (the packed walk takes 2^16)");
                }
                out[2 * k] = Double.doubleToRawLongBits(threshold[i]);
                out[2 * k + 1] = (long) feature[i] << 48;
                // the high child is emitted after the whole low subtree: push it first, and the low child on top
                stack[top] = high[i];
                linkAt[top++] = 2 * k + 1;
                stack[top] = low[i];
                linkAt[top++] = 2 * k;
            }
        }
        return Arrays.copyOf(out, 2 * next);
    }

    /** The longest path from the root of a packed tree to a leaf, in splits. */
    private static int packedDepth(long[] p) {
        int n = p.length / 2;
        int[] d = new int[n];
        int max = 0;
        // depth-first order: every node comes after its parent
        for (int k = 0; k < n; k++) {
            long links = p[2 * k + 1];
            int lo = (int) ((links >>> 24) & CHILD);
            int hi = (int) (links & CHILD);
            if (lo != k) {
                d[lo] = d[k] + 1;
                d[hi] = d[k] + 1;
                max = Math.max(max, d[k] + 1);
            }
        }
        return max;
    }

    /** One step of a packed walk from node {@code k}. */
    private static int step(long[] p, int k, double[] x) {
        long links = p[2 * k + 1];
        return x[(int) (links >>> 48)] > Double.longBitsToDouble(p[2 * k])
                ? (int) (links & CHILD)
                : (int) ((links >>> 24) & CHILD);
    }

    /** The packed node of the leaf {@code x} reaches: its value is {@code packed[2 * leaf]}'s bits. */
    private int packedLeaf(double[] x) {
        long[] p = packed;
        int k = 0;
        for (int d = depth; d > 0; d--) {
            k = step(p, k, x);
        }
        return k;
    }

    private double leafValue(double[] x) {
        return Double.longBitsToDouble(packed[2 * packedLeaf(x)]);
    }

    /** Each member's leaf value for {@code x}, into {@code out}: members walked four abreast. */
    private void memberValues(double[] x, double[] out) {
        CompiledTree[] ms = members;
        int m = 0;
        for (; m + 4 <= ms.length; m += 4) {
            long[] p0 = ms[m].packed;
            long[] p1 = ms[m + 1].packed;
            long[] p2 = ms[m + 2].packed;
            long[] p3 = ms[m + 3].packed;
            int d = Math.max(Math.max(ms[m].depth, ms[m + 1].depth), Math.max(ms[m + 2].depth, ms[m + 3].depth));
            int k0 = 0;
            int k1 = 0;
            int k2 = 0;
            int k3 = 0;
            for (; d > 0; d--) {
                k0 = step(p0, k0, x);
                k1 = step(p1, k1, x);
                k2 = step(p2, k2, x);
                k3 = step(p3, k3, x);
            }
            out[m] = Double.longBitsToDouble(p0[2 * k0]);
            out[m + 1] = Double.longBitsToDouble(p1[2 * k1]);
            out[m + 2] = Double.longBitsToDouble(p2[2 * k2]);
            out[m + 3] = Double.longBitsToDouble(p3[2 * k3]);
        }
        for (; m < ms.length; m++) {
            out[m] = ms[m].leafValue(x);
        }
    }

    /**
     * Compiles a Tribuo tree; {@code index} maps the planner's feature names to vector positions (a
     * feature the vector lacks reads as 0, as Tribuo reads a missing feature).
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    public static CompiledTree of(TreeModel<?> model, Map<String, Integer> index, String[] names) {
        return compile((TreeModel) model, index, names);
    }

    /**
     * Compiles a Tribuo tree or a regression ensemble of trees (members averaged with equal weights, as
     * Tribuo's {@code AveragingCombiner} averages them).
     */
    public static CompiledTree of(Model<?> model, Map<String, Integer> index, String[] names) {
        if (model instanceof TreeModel<?> t) {
            return of(t, index, names);
        }
        if (model instanceof EnsembleModel<?> e) {
            CompiledTree[] members = new CompiledTree[e.getNumModels()];
            for (int i = 0; i < members.length; i++) {
                if (!(e.getModels().get(i) instanceof TreeModel<?> t)) {
                    throw new IllegalArgumentException("ensemble member " + i + " is a "
                            + e.getModels().get(i).getClass().getSimpleName() + ", not a CART tree");
                }
                members[i] = of(t, index, names);
            }
            if (members.length == 0) {
                throw new IllegalArgumentException("an ensemble without members");
            }
            for (CompiledTree m : members) {
                if ((m.labels.length > 0) != (members[0].labels.length > 0)) {
                    throw new IllegalArgumentException("an ensemble of regression and classification trees");
                }
            }
            return new CompiledTree(members);
        }
        throw new IllegalArgumentException(
                "unsupported model " + model.getClass().getName() + " (a CART tree or an ensemble of them)");
    }

    private static <T extends Output<T>> CompiledTree compile(
            TreeModel<T> model, Map<String, Integer> index, String[] names) {
        Node<T> root = model instanceof IndependentRegressionTreeModel ir ? rootOf(ir) : model.getRoot();
        ImmutableFeatureMap fmap = model.getFeatureIDMap();
        List<Node<T>> nodes = new ArrayList<>();
        nodes.add(root);
        List<String> labelNames = new ArrayList<>();
        int[] f = new int[16];
        double[] t = new double[16];
        int[] lo = new int[16];
        int[] hi = new int[16];
        double[] v = new double[16];
        for (int i = 0; i < nodes.size(); i++) {
            if (i >= f.length) {
                f = Arrays.copyOf(f, f.length * 2);
                t = Arrays.copyOf(t, t.length * 2);
                lo = Arrays.copyOf(lo, lo.length * 2);
                hi = Arrays.copyOf(hi, hi.length * 2);
                v = Arrays.copyOf(v, v.length * 2);
            }
            Node<T> n = nodes.get(i);
            if (n instanceof SplitNode<T> s) {
                String name = fmap.get(s.getFeatureID()).getName();
                Integer pos = index.get(name);
                f[i] = pos == null ? -1 : pos;
                t[i] = s.splitValue();
                lo[i] = nodes.size();
                nodes.add(s.getLessThanOrEqual());
                hi[i] = nodes.size();
                nodes.add(s.getGreaterThan());
            } else {
                LeafNode<T> leaf = (LeafNode<T>) n;
                f[i] = -2;
                T out = leaf.getOutput();
                if (out instanceof Regressor r) {
                    v[i] = r.getValues()[0];
                } else if (out instanceof Label l) {
                    int k = labelNames.indexOf(l.getLabel());
                    if (k < 0) {
                        k = labelNames.size();
                        labelNames.add(l.getLabel());
                    }
                    v[i] = k;
                } else {
                    throw new IllegalArgumentException(
                            "unsupported tree output " + out.getClass().getName());
                }
            }
        }
        int size = nodes.size();
        return new CompiledTree(
                Arrays.copyOf(f, size),
                Arrays.copyOf(t, size),
                Arrays.copyOf(lo, size),
                Arrays.copyOf(hi, size),
                Arrays.copyOf(v, size),
                labelNames.toArray(String[]::new),
                names);
    }

    @SuppressWarnings("unchecked")
    private static <T extends Output<T>> Node<T> rootOf(IndependentRegressionTreeModel m) {
        return (Node<T>) m.getRoots().values().iterator().next();
    }

    /** A regression tree's prediction (an ensemble's: the mean of its members'). */
    public double predict(double[] x) {
        if (members == null) {
            return leafValue(x);
        }
        double[] values = new double[members.length];
        memberValues(x, values);
        double sum = 0;
        // in member order, as the sum always was (the mean to the last bit)
        for (double v : values) {
            sum += v;
        }
        return sum / members.length;
    }

    /**
     * A classification tree's label; an ensemble's is its members' majority vote (an odd number of members of
     * two labels has no ties; otherwise the label the members named first wins a tie).
     */
    public String label(double[] x) {
        if (members == null) {
            return labels[(int) leafValue(x)];
        }
        // votes counted per label of the union (a plan asks this several times: no map per call)
        int[] votes = new int[labels.length];
        int best = 0;
        double[] values = new double[members.length];
        memberValues(x, values);
        for (int m = 0; m < members.length; m++) {
            int k = memberLabel[m][(int) values[m]];
            if (++votes[k] > votes[best] || (votes[k] == votes[best] && k < best)) {
                best = k;
            }
        }
        return labels[best];
    }

    /** The share of an ensemble's members that vote {@code label} (a tree's: 1 or 0). */
    public double share(double[] x, String label) {
        if (members == null) {
            return label.equals(label(x)) ? 1 : 0;
        }
        // the label's index in the union, then each member's leaf compared by index (no string per member)
        int k = -1;
        for (int i = 0; i < labels.length; i++) {
            if (labels[i].equals(label)) {
                k = i;
            }
        }
        if (k < 0) {
            return 0;
        }
        double[] values = new double[members.length];
        memberValues(x, values);
        int n = 0;
        for (int m = 0; m < members.length; m++) {
            n += memberLabel[m][(int) values[m]] == k ? 1 : 0;
        }
        return (double) n / members.length;
    }

    /** Nodes of the tree (of all members of an ensemble). */
    public int nodes() {
        if (members == null) {
            return feature.length;
        }
        int n = 0;
        for (CompiledTree m : members) {
            n += m.nodes();
        }
        return n;
    }

    /** Trees averaged: 1 for a tree, the members of an ensemble. */
    public int trees() {
        return members == null ? 1 : members.length;
    }

    /** One split on a prediction's path: the feature, the threshold, and which side the input took. */
    public record Step(String feature, double threshold, boolean above, double value) {}

    /** The splits from the root to the input's leaf (an ensemble's first member's). */
    public List<Step> path(double[] x) {
        if (members != null) {
            return members[0].path(x);
        }
        List<Step> steps = new ArrayList<>();
        int i = 0;
        while (feature[i] != -2) {
            double xv = feature[i] < 0 ? 0 : x[feature[i]];
            boolean above = xv > threshold[i];
            steps.add(new Step(feature[i] < 0 ? "?" : featureNames[feature[i]], threshold[i], above, xv));
            i = above ? high[i] : low[i];
        }
        return steps;
    }
}
