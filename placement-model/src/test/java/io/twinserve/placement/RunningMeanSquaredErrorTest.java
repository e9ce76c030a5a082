package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.oracle.labs.mlrg.olcut.provenance.ConfiguredObjectProvenance;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.tribuo.MutableDataset;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.rtree.CARTRegressionTrainer;
import org.tribuo.regression.rtree.impurity.RegressorImpurity;

/** The running-sum impurity answers every list exactly as summing it afresh would. */
class RunningMeanSquaredErrorTest {
    /** The weighted variance and weight of the lists' rows, summed afresh in two passes. */
    static double[] reference(List<int[]> lists, float[] targets, float[] weights) {
        double w = 0;
        double wy = 0;
        for (int[] idx : lists) {
            for (int i : idx) {
                w += weights[i];
                wy += weights[i] * (double) targets[i];
            }
        }
        double mean = wy / w;
        double sq = 0;
        for (int[] idx : lists) {
            for (int i : idx) {
                sq += weights[i] * (targets[i] - mean) * (targets[i] - mean);
            }
        }
        return new double[] {sq / w, w};
    }

    /**
     * Close to the sum afresh: the weight to float precision, the variance to a millionth of the larger of itself
     * and the whole set's (a variance near 0 is the difference of running sums of squares in the millions).
     */
    private static void assertSame(RegressorImpurity.ImpurityTuple t, double[] ref, double scale) {
        assertThat((double) t.weight).isCloseTo(ref[1], within(1e-4 * ref[1]));
        assertThat((double) t.impurity).isCloseTo(ref[0], within(1e-6 * Math.max(ref[0], scale)));
    }

    @Test
    void followsASplitSearchAndAnyOtherListsExactly() {
        SplittableRandom rnd = new SplittableRandom(7);
        int rows = 2_000;
        float[] targets = new float[rows];
        float[] weights = new float[rows];
        for (int i = 0; i < rows; i++) {
            targets[i] = (float) (4_000 + 3_000 * rnd.nextDouble()); // throughputs: large mean, small spread
            weights[i] = 0.5f + rnd.nextInt(3);
        }
        int[] everyRow = java.util.stream.IntStream.range(0, rows).toArray();
        double scale = reference(List.of(everyRow), targets, weights)[0];
        RunningMeanSquaredError mse = new RunningMeanSquaredError();
        for (int feature = 0; feature < 4; feature++) {
            // the rows split among a feature's distinct values, in value order, as Tribuo's node holds them
            List<List<Integer>> byValue = new ArrayList<>();
            int values = 2 + rnd.nextInt(feature == 0 ? 2 : 300);
            for (int v = 0; v < values; v++) {
                byValue.add(new ArrayList<>());
            }
            for (int i = 0; i < rows; i++) {
                byValue.get(v(rnd, values, i)).add(i);
            }
            List<int[]> arrays = new ArrayList<>();
            for (List<Integer> b : byValue) {
                if (!b.isEmpty()) {
                    arrays.add(b.stream().mapToInt(Integer::intValue).toArray());
                }
            }
            for (int j = 0; j < arrays.size() - 1; j++) {
                List<int[]> left = arrays.subList(0, j + 1);
                List<int[]> right = arrays.subList(j + 1, arrays.size());
                assertSame(mse.impurityTuple(left, targets, weights), reference(left, targets, weights), scale);
                assertSame(mse.impurityTuple(right, targets, weights), reference(right, targets, weights), scale);
            }
            // lists out of the search's order are summed in full
            List<int[]> some = List.of(arrays.getLast(), arrays.getFirst());
            assertSame(mse.impurityTuple(some, targets, weights), reference(some, targets, weights), scale);
            List<int[]> all = arrays.subList(0, arrays.size());
            assertSame(mse.impurityTuple(all, targets, weights), reference(all, targets, weights), scale);
        }
        int[] first = {0, 5, 9, 13};
        assertSame(
                mse.impurityTuple(first, 3, targets, weights),
                reference(List.of(new int[] {0, 5, 9}), targets, weights),
                scale);
    }

    private static int v(SplittableRandom rnd, int values, int row) {
        return row < values ? row : rnd.nextInt(values);
    }

    /** Every impurity a real tree's training asks, checked against the lists summed afresh. */
    @Test
    void answersEveryQuestionOfATribuoTreesTrainingAsASumAfresh() {
        SplittableRandom rnd = new SplittableRandom(11);
        RegressionFactory f = new RegressionFactory();
        MutableDataset<Regressor> ds = new MutableDataset<>(new SimpleDataSourceProvenance("test", f), f);
        String[] names = {"a", "b", "c"};
        for (int i = 0; i < 3_000; i++) {
            double a = rnd.nextDouble();
            double b = rnd.nextInt(40);
            double c = Math.floor(rnd.nextDouble() * 1_000) / 10;
            double y = 3_000 + 2_000 * a * a + 30 * b + (c > 50 ? 500 : 0) + 50 * rnd.nextGaussian();
            ds.add(new ArrayExample<>(new Regressor("y", y), names, new double[] {a, b, c}));
        }
        int[] calls = {0};
        RunningMeanSquaredError running = new RunningMeanSquaredError();
        RegressorImpurity checked = new RegressorImpurity() {
            @Override
            public double impurity(float[] targets, float[] weights) {
                return running.impurity(targets, weights);
            }

            @Override
            public ImpurityTuple impurityTuple(int[] indices, int length, float[] targets, float[] weights) {
                return running.impurityTuple(indices, length, targets, weights);
            }

            @Override
            public ImpurityTuple impurityTuple(List<int[]> lists, float[] targets, float[] weights) {
                ImpurityTuple t = running.impurityTuple(lists, targets, weights);
                assertSame(t, reference(lists, targets, weights), 250_000);
                calls[0]++;
                return t;
            }

            @Override
            public ConfiguredObjectProvenance getProvenance() {
                return running.getProvenance();
            }
        };
        var model = new CARTRegressionTrainer(8, 1f, 0f, 1f, false, checked, 1).train(ds);
        assertThat(calls[0]).isGreaterThan(10_000);
        // and the tree it grew fits the data: its error is near the noise's
        double se = 0;
        for (var e : ds) {
            double d =
                    model.predict(e).getOutput().getValues()[0] - e.getOutput().getValues()[0];
            se += d * d;
        }
        assertThat(Math.sqrt(se / ds.size())).isLessThan(120);
    }
}
