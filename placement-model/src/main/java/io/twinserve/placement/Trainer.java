package io.twinserve.placement;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.exec.Parallel;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.IntStream;
import org.tribuo.Example;
import org.tribuo.Model;
import org.tribuo.MutableDataset;
import org.tribuo.Output;
import org.tribuo.OutputFactory;
import org.tribuo.classification.Label;
import org.tribuo.classification.LabelFactory;
import org.tribuo.classification.dtree.CARTClassificationTrainer;
import org.tribuo.classification.dtree.impurity.GiniIndex;
import org.tribuo.classification.ensemble.VotingCombiner;
import org.tribuo.common.tree.TreeModel;
import org.tribuo.ensemble.EnsembleCombiner;
import org.tribuo.ensemble.WeightedEnsembleModel;
import org.tribuo.impl.ArrayExample;
import org.tribuo.provenance.SimpleDataSourceProvenance;
import org.tribuo.regression.RegressionFactory;
import org.tribuo.regression.Regressor;
import org.tribuo.regression.ensemble.AveragingCombiner;
import org.tribuo.regression.rtree.CARTRegressionTrainer;

/**
 * Fits the placement targets with Tribuo CART trees. For each target, whole workloads (families) are
 * held out for the final report; on the rest, depth and minimum leaf weight are chosen by k-fold
 * cross-validation over workloads, never splitting one workload's rows between training and test. The
 * report scores the tree fitted with the chosen settings without the held-out workloads; the tree kept is
 * then fitted again on every workload ({@link Options#refit}), so that no family the sweep paid for is left
 * out of the plans (the report is then an estimate for the kept tree, from a fit on 80% of the data).
 *
 * <p>Over 400 lines because building each target's examples, the grouped cross-validation and the
 * compiled-tree check are one pipeline over one set of options; the labels ({@link Labels}) and the load
 * estimate ({@link LoadModel}) are already apart. The example builders are the next to move out.
 */
public final class Trainer {

    /**
     * @param folds k of the cross-validation
     * @param holdOut share of workloads held out for the report
     * @param depths candidate maximum depths
     * @param minChildWeights candidate minimum leaf weights
     * @param slo what the labels call good enough (the effective bounds; {@link SloSpec#DEFAULTS} by default)
     * @param refit keep trees fitted on every workload (true) rather than the ones the report scores
     * @param perModel when the rows hold several models, fit each target once per model ({@code
     *     served@llama-3.1-8b}, ...) rather than one tree for all with the model as a feature
     * @param servedTrees trees of the served target's bagged forest (1: one tree, as the other targets)
     * @param slotsTrees trees of the slots target's bagged forest (1: one tree)
     * @param sloTrees trees of the slo target's bagged forest, voting (1: one tree; odd, so that votes never tie)
     */
    public record Options(
            int folds,
            double holdOut,
            long seed,
            int[] depths,
            float[] minChildWeights,
            Labels.Objective objective,
            SloSpec slo,
            int threads,
            boolean refit,
            boolean perModel,
            int servedTrees,
            int slotsTrees,
            int sloTrees) {

        public Options {
            if (servedTrees < 1) {
                throw new IllegalArgumentException("served trees must be >= 1, got " + servedTrees);
            }
            if (slotsTrees < 1) {
                throw new IllegalArgumentException("slots trees must be >= 1, got " + slotsTrees);
            }
            if (sloTrees < 1 || sloTrees % 2 == 0) {
                throw new IllegalArgumentException(
                        "slo trees must be odd and >= 1 (a vote of two labels must not tie), got " + sloTrees);
            }
        }

        public Options(
                int folds,
                double holdOut,
                long seed,
                int[] depths,
                float[] minChildWeights,
                Labels.Objective objective,
                SloSpec slo,
                int threads,
                boolean refit,
                boolean perModel) {
            this(folds, holdOut, seed, depths, minChildWeights, objective, slo, threads, refit, perModel, 1, 1, 1);
        }

        public Options(
                int folds,
                double holdOut,
                long seed,
                int[] depths,
                float[] minChildWeights,
                Labels.Objective objective,
                SloSpec slo,
                int threads) {
            this(folds, holdOut, seed, depths, minChildWeights, objective, slo, threads, true, true);
        }

        public Options(
                int folds,
                double holdOut,
                long seed,
                int[] depths,
                float[] minChildWeights,
                Labels.Objective objective,
                SloSpec slo,
                int threads,
                boolean refit) {
            this(folds, holdOut, seed, depths, minChildWeights, objective, slo, threads, refit, true);
        }

        /**
         * Five folds, 20% held out, depths 8, 12 and 16 (24 was never chosen for any target of the shipped grids'
         * models, and its fits were a fifth of the training time), a minimum leaf weight of 1 (5 was never chosen,
         * and its fits were a third of the cross-validation; 2 was never chosen by any of the 14 targets of the
         * model shipped on 2026-12-07 either, and its fits were half of what was left: without it the same trees
         * are chosen and training the three datasets took 62.3 -> 43.7 s on 2026-12-07), and forests of {@link #SERVED_TREES},
         * {@link #SLOTS_TREES} and {@link #SLO_TREES} trees for the served count, the slots and the SLO.
         */
        public static Options defaults() {
            return new Options(
                    5,
                    0.2,
                    1L,
                    new int[] {8, 12, 16},
                    new float[] {1f},
                    Labels.Objective.COST,
                    SloSpec.DEFAULTS,
                    Runtime.getRuntime().availableProcessors(),
                    true,
                    true,
                    SERVED_TREES,
                    SLOTS_TREES,
                    SLO_TREES);
        }
    }

    /**
     * Trees of the served count's bagged forest by default. One tree's leaves hold a few families each and
     * answer grid values, so a workload between two families' optima gets one of them; the mean of trees
     * fitted on bootstrap samples of the families interpolates. On the training grid's 288 held-out Llama
     * families: served SMAPE 5.50% with one tree (depth 8), 3.96% with 30 (depths 8 to 16 alike).
     */
    public static final int SERVED_TREES = 30;

    /**
     * Trees of the slots target's bagged forest by default: on the training grid's held-out workloads, slots
     * SMAPE 3.89% -> 3.42% (Llama) and 4.58% -> 3.32% (Qwen).
     */
    public static final int SLOTS_TREES = 15;

    /**
     * Trees of the slo target's voting forest by default. The planner's checks (the slot margin, the repair)
     * ask it whether a configuration meets the SLO, and one tree's pure leaves answer near the boundary with
     * whichever family fell there; 15 trees on bootstrap samples vote. On the training grid's held-out
     * families: accuracy 97.93% -> 98.43% (Llama), 97.73% -> 97.98% (Qwen).
     */
    public static final int SLO_TREES = 15;

    /** One target's examples: feature vectors, targets (a number or a label) and workload groups. */
    record Examples(
            String target,
            Features features,
            boolean classification,
            List<double[]> x,
            List<String> categorical,
            List<Double> y,
            List<String> labels,
            List<String> groups,
            List<Double> scale,
            double[] snap,
            boolean gpuShare) {}

    /** A fitted target and its scores. */
    public record Fitted(
            String target,
            Model<?> model,
            CompiledTree tree,
            Features features,
            List<String> featureNames,
            boolean classification,
            boolean ratioToOffered,
            boolean gpuShare,
            double[] snap,
            Report report) {}

    /**
     * One target's figures on held-out workloads. SMAPE and R² for regressors (of the value the planner
     * reports: snapped to the grid for counts), accuracy for classifiers.
     */
    public record Report(
            String target,
            String kind,
            int examples,
            int trainWorkloads,
            int heldOutWorkloads,
            int heldOutExamples,
            int depth,
            float minChildWeight,
            double cvScore,
            double smapePct,
            double rawSmapePct,
            double r2,
            double accuracy,
            int nodes,
            boolean compiledAgrees,
            double seconds,
            boolean refit,
            int trees) {}

    private final Options options;

    public Trainer(Options options) {
        this.options = options;
    }

    private LoadModel load = LoadModel.NONE;

    /** The load estimate the last {@link #train} fitted and its features read ({@link LoadModel}). */
    public LoadModel load() {
        return load;
    }

    /**
     * Fits every target the dataset supports: once per model, each named {@code TARGET@MODEL}, when the
     * rows hold several models and {@link Options#perModel} (one set of trees for all models split on the
     * model late, and a model's plans paid for the other's rows: on 300 held-out Llama workloads, 78% of
     * plans within 3% of the twin's best against 84% from Llama's rows alone).
     */
    public List<Fitted> train(List<SweepRow> rows) {
        return train(rows, null);
    }

    /**
     * As {@link #train(List)}, with the rows on pools outside {@code mainPools} (a grid of other GPUs trained beside
     * the main one) fitted apart: each model's trees of the main pools are those of their rows alone, and its other
     * GPUs' trees are named {@code TARGET@MODEL}{@link PlacementModel#OTHER_GPUS}. Trained into the same trees, the
     * other GPUs' rows cost the main GPU's plans (on the held-out workloads of docs/placement.md, the SLO met where
     * possible fell from 96.5 / 94.6% to 88.5 / 83.3% on the wide sets). Null or every pool: no split.
     */
    public List<Fitted> train(List<SweepRow> rows, java.util.Set<String> mainPools) {
        List<SweepRow> fitting = rows.stream().filter(SweepRow::fits).toList();
        boolean split = mainPools != null && fitting.stream().anyMatch(r -> !mainPools.contains(r.pool()));
        load = LoadModel.fit(fitting, options.slo(), split ? mainPools : null);
        List<String> models =
                fitting.stream().map(SweepRow::model).distinct().sorted().toList();
        if (!split && (!options.perModel() || models.size() < 2)) {
            return trainTargets(fitting, "");
        }
        List<Fitted> out = new ArrayList<>();
        for (String m : models) {
            List<SweepRow> own =
                    fitting.stream().filter(r -> r.model().equals(m)).toList();
            String suffix = options.perModel() || split ? PlacementModel.MODEL_SEP + m : "";
            if (!split) {
                out.addAll(trainTargets(own, suffix));
                continue;
            }
            List<SweepRow> main =
                    own.stream().filter(r -> mainPools.contains(r.pool())).toList();
            List<SweepRow> other =
                    own.stream().filter(r -> !mainPools.contains(r.pool())).toList();
            if (!main.isEmpty()) {
                out.addAll(trainTargets(main, suffix));
            }
            if (!other.isEmpty()) {
                out.addAll(trainTargets(other, suffix + PlacementModel.OTHER_GPUS));
            }
        }
        return out;
    }

    /** The base name of a target ({@code served} of {@code served@llama-3.1-8b}). */
    public static String baseName(String target) {
        int at = target.indexOf(PlacementModel.MODEL_SEP);
        return at < 0 ? target : target.substring(0, at);
    }

    private List<Fitted> trainTargets(List<SweepRow> fitting, String suffix) {
        List<Examples> targets = new ArrayList<>();
        targets.add(servedExamples(fitting));
        targets.add(slotsExamples(fitting));
        targets.add(throughputExamples(fitting));
        targets.add(sloExamples(fitting));
        List<Labels.Placement> placements = Labels.placements(fitting, options.objective(), options.slo());
        if (distinct(fitting, SweepRow::pool) > 1) {
            targets.add(placementExamples("pool", placements, r -> r.pool()));
        }
        if (distinct(fitting, SweepRow::tp) > 1) {
            targets.add(placementExamples("tp", placements, r -> Integer.toString(r.tp())));
        }
        if (distinct(fitting, SweepRow::kvCacheLen) > 1) {
            targets.add(placementExamples("kv_cache_len", placements, r -> Integer.toString(r.kvCacheLen())));
        }
        List<Fitted> out = new ArrayList<>();
        for (Examples base : targets) {
            Examples e = new Examples(
                    base.target() + suffix,
                    base.features(),
                    base.classification(),
                    base.x(),
                    base.categorical(),
                    base.y(),
                    base.labels(),
                    base.groups(),
                    base.scale(),
                    base.snap(),
                    base.gpuShare());
            if (e.x().size() < 2 * options.folds()) {
                throw new IllegalArgumentException("the dataset has " + e.x().size() + " examples for target "
                        + e.target() + "; at least " + 2 * options.folds() + " are needed (sweep more workloads)");
            }
            out.add(fit(e));
        }
        return out;
    }

    private static int distinct(List<SweepRow> rows, Function<SweepRow, Object> f) {
        return (int) rows.stream().map(f).distinct().count();
    }

    private static double[] values(List<Integer> v, boolean withZero) {
        TreeSet<Integer> s = new TreeSet<>(v);
        if (withZero) {
            s.add(0);
        }
        return s.stream().mapToDouble(Integer::doubleValue).toArray();
    }

    /**
     * The served count's examples. Where the load model has an estimate for every family, the forest learns the
     * share of a GPU the optimum's traffic takes (optimum x {@code adapter_load}, see {@link LoadModel}) and the
     * planner divides it back by the workload's adapter load: a workload between the grid's families then gets a
     * count that moves with its rates and lengths, where a leaf's count of adapters moved by a grid step (16 to 32
     * is a factor of 2). On six held-out sets of 300 workloads the planned served count's SMAPE went from 3.44 /
     * 12.24 / 6.85 / 17.71 / 4.56 / 12.57% to 3.53 / 9.20 / 6.34 / 14.88 / 4.57 / 8.71% (docs/placement.md). The
     * scale turns a share back into a count for the cross-validation's scores.
     */
    Examples servedExamples(List<SweepRow> rows) {
        List<Labels.Served> labels = Labels.served(rows, options.slo());
        boolean share = labels.stream().allMatch(s -> load.adapterLoad(WorkloadFeatures.of(s.example())) > 0);
        Examples e = empty(
                "served",
                Features.FAMILY,
                false,
                values(rows.stream().map(SweepRow::served).toList(), true),
                share);
        for (Labels.Served s : labels) {
            WorkloadFeatures w = WorkloadFeatures.of(s.example());
            double adapterLoad = load.adapterLoad(w);
            if (share) {
                add(e, w, s.example().familyKey(), s.optimum() * adapterLoad, null, 1 / adapterLoad);
            } else {
                add(e, w, s.example().familyKey(), s.optimum(), null, 1);
            }
        }
        return e;
    }

    Examples slotsExamples(List<SweepRow> rows) {
        Examples e = empty(
                "slots",
                Features.WORKLOAD,
                false,
                values(rows.stream().map(SweepRow::slots).toList(), false));
        for (Labels.Slots s : Labels.slots(rows, options.slo())) {
            add(e, WorkloadFeatures.of(s.example()), s.example().familyKey(), s.optimum(), null, 1);
        }
        return e;
    }

    Examples throughputExamples(List<SweepRow> rows) {
        Examples e = empty("throughput", Features.CONFIGURED, false, null);
        for (SweepRow r : rows) {
            if (!r.starving()) {
                WorkloadFeatures w = WorkloadFeatures.of(r);
                // the tree learns the share of the offered load served; the planner multiplies it back
                add(e, w, r.familyKey(), r.throughputTps() / w.offeredTps(), null, w.offeredTps());
            }
        }
        return e;
    }

    /** Whether each configuration meets the SLO ("meets" or "misses"). */
    Examples sloExamples(List<SweepRow> rows) {
        Examples e = empty("slo", Features.CONFIGURED, true, null);
        for (SweepRow r : rows) {
            add(e, WorkloadFeatures.of(r), r.familyKey(), 0, r.meets(options.slo()) ? MEETS : MISSES, 1);
        }
        return e;
    }

    /** The labels of the "slo" target. */
    public static final String MEETS = "meets";

    public static final String MISSES = "misses";

    Examples placementExamples(String target, List<Labels.Placement> placements, Function<SweepRow, String> label) {
        Examples e = empty(target, Features.DEMAND, true, null);
        for (Labels.Placement p : placements) {
            add(e, WorkloadFeatures.of(p.best()), p.best().familyKey(), 0, label.apply(p.best()), 1);
        }
        return e;
    }

    private static Examples empty(String target, Features f, boolean classification, double[] snap) {
        return empty(target, f, classification, snap, false);
    }

    private static Examples empty(String target, Features f, boolean classification, double[] snap, boolean gpuShare) {
        return new Examples(
                target,
                f,
                classification,
                new ArrayList<>(),
                new ArrayList<>(),
                new ArrayList<>(),
                new ArrayList<>(),
                new ArrayList<>(),
                new ArrayList<>(),
                snap,
                gpuShare);
    }

    private void add(Examples e, WorkloadFeatures w, String group, double y, String label, double scale) {
        e.x().add(e.features().numeric(w, load));
        e.categorical().add(String.join("\u0000", e.features().categorical(w)));
        e.y().add(y);
        e.labels().add(label);
        e.groups().add(group);
        e.scale().add(scale);
    }

    private Fitted fit(Examples e) {
        long t0 = System.nanoTime();
        // feature vector: numeric features, then one-hot categoricals by name
        List<String> names = new ArrayList<>(e.features().numericNames());
        TreeSet<String> cats = new TreeSet<>();
        for (String c : e.categorical()) {
            cats.addAll(Arrays.asList(c.split("\u0000")));
        }
        names.addAll(cats);
        Map<String, Integer> index = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
            index.put(names.get(i), i);
        }
        int n = e.x().size();
        double[][] vectors = new double[n][];
        for (int i = 0; i < n; i++) {
            double[] v = Arrays.copyOf(e.x().get(i), names.size());
            for (String c : e.categorical().get(i).split("\u0000")) {
                v[index.get(c)] = 1;
            }
            vectors[i] = v;
        }
        List<String> groups = shuffledGroups(e.target(), e.groups());
        int held = heldOutCount(groups.size());
        Map<String, Integer> fold = new HashMap<>();
        for (int i = 0; i < groups.size(); i++) {
            fold.put(groups.get(i), i < held ? -1 : (i - held) % options.folds());
        }
        int[] foldOf = new int[n];
        for (int i = 0; i < n; i++) {
            foldOf[i] = fold.get(e.groups().get(i));
        }
        String[] nameArray = names.toArray(String[]::new);
        // cross-validation over the candidate settings
        record Setting(int depth, float mcw) {}
        List<Setting> settings = new ArrayList<>();
        for (int d : options.depths()) {
            for (float m : options.minChildWeights()) {
                settings.add(new Setting(d, m));
            }
        }
        record Task(int setting, int fold) {}
        List<Task> tasks = new ArrayList<>();
        for (int s = 0; s < settings.size(); s++) {
            for (int k = 0; k < options.folds(); k++) {
                tasks.add(new Task(s, k));
            }
        }
        List<Double> taskScores = Parallel.map(
                tasks,
                options.threads(),
                task -> {
                    Setting st = settings.get(task.setting());
                    List<Integer> train = new ArrayList<>();
                    List<Integer> test = new ArrayList<>();
                    for (int i = 0; i < n; i++) {
                        if (foldOf[i] >= 0) {
                            (foldOf[i] == task.fold() ? test : train).add(i);
                        }
                    }
                    TreeModel<?> m = trainOn(e, vectors, nameArray, train, st.depth(), st.mcw());
                    return score(e, vectors, CompiledTree.of(m, index, nameArray), test)[0];
                },
                done -> {});
        double[][] scores = new double[settings.size()][options.folds()];
        for (int t = 0; t < tasks.size(); t++) {
            scores[tasks.get(t).setting()][tasks.get(t).fold()] = taskScores.get(t);
        }
        int best = 0;
        double bestScore = Double.POSITIVE_INFINITY;
        for (int s = 0; s < settings.size(); s++) {
            double mean = Arrays.stream(scores[s]).average().orElse(Double.NaN);
            if (mean < bestScore - 1e-12) {
                bestScore = mean;
                best = s;
            }
        }
        Setting chosen = settings.get(best);
        List<Integer> train = new ArrayList<>();
        List<Integer> test = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            (foldOf[i] < 0 ? test : train).add(i);
        }
        int trees = switch (baseName(e.target())) {
            case "served" -> options.servedTrees();
            case "slots" -> options.slotsTrees();
            case "slo" -> options.sloTrees();
            default -> 1;
        };
        Model<?> model = trainForest(e, vectors, nameArray, train, chosen.depth(), chosen.mcw(), trees);
        CompiledTree tree = CompiledTree.of(model, index, nameArray);
        double[] held0 = score(e, vectors, tree, test);
        if (options.refit()) {
            List<Integer> all = new ArrayList<>(train);
            all.addAll(test);
            model = trainForest(e, vectors, nameArray, all, chosen.depth(), chosen.mcw(), trees);
            tree = CompiledTree.of(model, index, nameArray);
        }
        boolean agrees = agrees(e, model, tree, vectors, nameArray, test);
        Report report = new Report(
                e.target(),
                e.classification() ? "classification" : "regression",
                n,
                groups.size() - held,
                held,
                test.size(),
                chosen.depth(),
                chosen.mcw(),
                round(bestScore),
                e.classification() ? Double.NaN : round(held0[0]),
                e.classification() ? Double.NaN : round(held0[1]),
                e.classification() ? Double.NaN : round(held0[2]),
                e.classification() ? round(1 - held0[0]) : Double.NaN,
                tree.nodes(),
                agrees,
                round((System.nanoTime() - t0) / 1e9),
                options.refit(),
                trees);
        return new Fitted(
                e.target(),
                model,
                tree,
                e.features(),
                List.copyOf(names),
                e.classification(),
                baseName(e.target()).equals("throughput"),
                e.gpuShare(),
                e.snap(),
                report);
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static <T extends Output<T>> TreeModel<T> castModel(TreeModel<?> m) {
        return (TreeModel) m;
    }

    /**
     * One tree on {@code idx}, or a bagged forest of {@code trees}: each fitted with the same settings on a
     * bootstrap sample of {@code idx} (drawn from the seed), averaged by Tribuo's ensemble.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    private Model<?> trainForest(
            Examples e, double[][] vectors, String[] names, List<Integer> idx, int depth, float mcw, int trees) {
        if (trees == 1) {
            return trainOn(e, vectors, names, idx, depth, mcw, options.seed());
        }
        // the bootstrap samples drawn in order from the seed, then the trees fitted in parallel (each from its own)
        SplittableRandom rnd = new SplittableRandom(options.seed() ^ 0x9E3779B97F4A7C15L);
        List<List<Integer>> samples = new ArrayList<>();
        for (int k = 0; k < trees; k++) {
            List<Integer> boot = new ArrayList<>(idx.size());
            for (int j = 0; j < idx.size(); j++) {
                boot.add(idx.get(rnd.nextInt(idx.size())));
            }
            samples.add(boot);
        }
        List<Integer> ks = IntStream.range(0, trees).boxed().toList();
        List<Model> members = new ArrayList<>(Parallel.map(
                ks,
                options.threads(),
                k -> (Model) trainOn(e, vectors, names, samples.get(k), depth, mcw, options.seed() + 1 + k),
                done -> {}));
        EnsembleCombiner combiner = e.classification() ? new VotingCombiner() : new AveragingCombiner();
        return WeightedEnsembleModel.createEnsembleFromExistingModels(e.target(), (List) members, combiner);
    }

    private TreeModel<?> trainOn(
            Examples e, double[][] vectors, String[] names, List<Integer> idx, int depth, float mcw) {
        return trainOn(e, vectors, names, idx, depth, mcw, options.seed());
    }

    private TreeModel<?> trainOn(
            Examples e, double[][] vectors, String[] names, List<Integer> idx, int depth, float mcw, long seed) {
        if (e.classification()) {
            OutputFactory<Label> f = new LabelFactory();
            MutableDataset<Label> ds = new MutableDataset<>(new SimpleDataSourceProvenance("twinserve sweep", f), f);
            for (int i : idx) {
                ds.add(new ArrayExample<>(new Label(e.labels().get(i)), names, vectors[i]));
            }
            return new CARTClassificationTrainer(depth, mcw, 0f, 1f, false, new GiniIndex(), seed).train(ds);
        }
        OutputFactory<Regressor> f = new RegressionFactory();
        MutableDataset<Regressor> ds = new MutableDataset<>(new SimpleDataSourceProvenance("twinserve sweep", f), f);
        for (int i : idx) {
            ds.add(new ArrayExample<>(new Regressor(e.target(), e.y().get(i)), names, vectors[i]));
        }
        return new CARTRegressionTrainer(depth, mcw, 0f, 1f, false, new RunningMeanSquaredError(), seed).train(ds);
    }

    /**
     * {SMAPE % of the reported value, SMAPE % before snapping, R²} for regressors; {error rate} for
     * classifiers.
     */
    static double[] score(Examples e, double[][] vectors, CompiledTree tree, List<Integer> idx) {
        if (idx.isEmpty()) {
            return new double[] {Double.NaN, Double.NaN, Double.NaN};
        }
        if (e.classification()) {
            int wrong = 0;
            for (int i : idx) {
                if (!tree.label(vectors[i]).equals(e.labels().get(i))) {
                    wrong++;
                }
            }
            return new double[] {(double) wrong / idx.size()};
        }
        double smape = 0;
        double raw = 0;
        double mean = 0;
        for (int i : idx) {
            mean += e.y().get(i) * e.scale().get(i);
        }
        mean /= idx.size();
        double ssRes = 0;
        double ssTot = 0;
        for (int i : idx) {
            double s = e.scale().get(i);
            double actual = e.y().get(i) * s;
            double p = tree.predict(vectors[i]) * s;
            double reported = e.snap() == null ? p : snap(p, e.snap());
            smape += smape(reported, actual);
            raw += smape(p, actual);
            ssRes += (reported - actual) * (reported - actual);
            ssTot += (actual - mean) * (actual - mean);
        }
        return new double[] {
            100 * smape / idx.size(), 100 * raw / idx.size(), ssTot == 0 ? Double.NaN : 1 - ssRes / ssTot
        };
    }

    static double smape(double p, double a) {
        double d = Math.abs(p) + Math.abs(a);
        return d == 0 ? 0 : 2 * Math.abs(p - a) / d;
    }

    /** The grid value nearest to {@code v}. */
    public static double snap(double v, double[] grid) {
        double best = grid[0];
        for (double g : grid) {
            if (Math.abs(g - v) < Math.abs(best - v)) {
                best = g;
            }
        }
        return best;
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    private static boolean agrees(
            Examples e, Model<?> model, CompiledTree tree, double[][] vectors, String[] names, List<Integer> idx) {
        for (int i : idx) {
            if (e.classification()) {
                Example<Label> ex = new ArrayExample<>(new Label("?"), names, vectors[i]);
                String tribuo =
                        ((Model<Label>) (Model) model).predict(ex).getOutput().getLabel();
                if (!tribuo.equals(tree.label(vectors[i]))) {
                    return false;
                }
            } else {
                Example<Regressor> ex = new ArrayExample<>(new Regressor(e.target(), 0), names, vectors[i]);
                double tribuo = ((Model<Regressor>) (Model) model)
                        .predict(ex)
                        .getOutput()
                        .getValues()[0];
                if (Math.abs(tribuo - tree.predict(vectors[i])) > 1e-9 * Math.max(1, Math.abs(tribuo))) {
                    return false;
                }
            }
        }
        return true;
    }

    static double round(double v) {
        return Double.isFinite(v) ? Math.round(v * 1e4) / 1e4 : v;
    }

    /** Reports keyed by target, in training order. */
    public static Map<String, Report> reports(List<Fitted> fitted) {
        Map<String, Report> m = new LinkedHashMap<>();
        for (Fitted f : fitted) {
            m.put(f.target(), f.report());
        }
        return m;
    }
    /**
     * A target's workloads (groups), shuffled by the seed: the first {@link #heldOutCount} are held out of the
     * report's fit. Seeded by the target's base name, so that a model's own trees split its workloads as its rows
     * alone would.
     */
    private List<String> shuffledGroups(String target, Collection<String> groups) {
        List<String> out = new ArrayList<>(new TreeSet<>(groups));
        Collections.shuffle(out, new Random(options.seed() ^ baseName(target).hashCode()));
        return out;
    }

    private int heldOutCount(int groups) {
        return (int) Math.round(groups * options.holdOut());
    }

    /** The workloads of {@code e} that the report's fit of its target holds out (the refit learns them too). */
    Set<String> heldOutGroups(Examples e) {
        List<String> groups = shuffledGroups(e.target(), e.groups());
        return new HashSet<>(groups.subList(0, heldOutCount(groups.size())));
    }
}
