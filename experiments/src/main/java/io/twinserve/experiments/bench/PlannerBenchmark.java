package io.twinserve.experiments.bench;

import io.twinserve.placement.Labels;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.Planner;
import io.twinserve.placement.WorkloadFeatures;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.tribuo.Example;
import org.tribuo.common.tree.TreeModel;
import org.tribuo.impl.ArrayExample;
import org.tribuo.regression.Regressor;

/**
 * JMH: the planner's prediction latency per workload with the shipped model (every target's tree:
 * served count, slots, throughput, starvation), against the baseline of one Tribuo {@code predict} of
 * the throughput tree alone, measured in the same run. Workloads are drawn across the training ranges.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
public class PlannerBenchmark {
    private static final double[] RATES = {3.2, 1.6, 0.8, 0.4, 0.1, 0.05, 0.025, 0.0125, 0.00625, 0.003125};

    private Planner planner;
    private List<Planner.Request> requests;
    private List<Example<Regressor>> tribuoExamples;
    /** The throughput tree of each request's model (one tree for all, or each model's own). */
    private List<TreeModel<Regressor>> tribuoThroughput;

    private int next;

    @Setup(Level.Trial)
    @SuppressWarnings("unchecked")
    public void setUp() throws IOException {
        PlacementModel model = PlacementModel.builtIn();
        planner = new Planner(model);
        requests = workloads(256, 7, model.meta().categories().get("model"));
        tribuoExamples = new ArrayList<>();
        tribuoThroughput = new ArrayList<>();
        for (Planner.Request r : requests) {
            PlacementModel.Target t = model.target("throughput", r.model());
            tribuoThroughput.add((TreeModel<Regressor>) t.tribuo());
            String[] names = t.meta().featureNames().toArray(String[]::new);
            WorkloadFeatures w = new WorkloadFeatures(
                    r.model(),
                    planner.trainingSpec().pools().getFirst().name(),
                    64,
                    r.rates(),
                    r.ranks(),
                    r.promptMean(),
                    r.outputMean(),
                    r.cv(),
                    32,
                    1,
                    0,
                    r.skew());
            tribuoExamples.add(new ArrayExample<>(new Regressor("throughput", 0), names, model.vector(t, w)));
        }
    }

    /** Workloads across the study's ranges: rate triples, rank triples, adapter counts. */
    public static List<Planner.Request> workloads(int n, long seed, List<String> models) {
        SplittableRandom rnd = new SplittableRandom(seed);
        List<Planner.Request> out = new ArrayList<>();
        int[][] ranks = {{8, 8, 8}, {16, 16, 16}, {32, 32, 32}, {8, 16, 32}};
        for (int i = 0; i < n; i++) {
            double[] r = rnd.ints(0, RATES.length)
                    .distinct()
                    .limit(3)
                    .mapToDouble(k -> RATES[k])
                    .toArray();
            Arrays.sort(r);
            out.add(new Planner.Request(
                    models.get(i % models.size()),
                    16 + rnd.nextInt(400),
                    new double[] {r[2], r[1], r[0]},
                    ranks[rnd.nextInt(ranks.length)],
                    216.3,
                    194.7,
                    1.0,
                    null,
                    Labels.Objective.COST,
                    null));
        }
        return out;
    }

    @Benchmark
    public Planner.Plan plannerPredict() {
        Planner.Request r = requests.get(next);
        next = (next + 1) & 255;
        return planner.predict(r);
    }

    @Benchmark
    public Object baselineTribuoOneTree() {
        Example<Regressor> e = tribuoExamples.get(next);
        TreeModel<Regressor> tree = tribuoThroughput.get(next);
        next = (next + 1) & 255;
        return tree.predict(e);
    }
}
