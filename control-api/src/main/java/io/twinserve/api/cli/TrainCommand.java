package io.twinserve.api.cli;

import io.twinserve.placement.Dataset;
import io.twinserve.placement.Labels;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.SweepRow;
import io.twinserve.placement.SweepSpec;
import io.twinserve.placement.Sweeps;
import io.twinserve.placement.Trainer;
import io.twinserve.traces.Provenance;
import io.twinserve.traces.spec.SloSpec;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code twinserve train}: fit the placement trees on sweep datasets. */
@Command(
        name = "train",
        mixinStandardHelpOptions = true,
        description = "Fit Tribuo CART trees on one or more sweep datasets: regressors for the optimal served "
                + "adapters, the best slot count and throughput, classifiers for starvation and (when the "
                + "dataset varies them) the best pool, tp and kv_cache_len for an objective. Depth and leaf "
                + "weight are chosen by k-fold cross-validation over workloads; SMAPE, R2 and accuracy are "
                + "reported on held-out workloads. Writes one .tribuo file per target and model.json "
                + "(provenance, feature ranges, scores).",
        footer = {
            "",
            "Examples:",
            "  twinserve train out/study -o out/model",
            "  twinserve train out/study-llama out/study-qwen -o out/model --json"
        })
final class TrainCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(arity = "1..*", paramLabel = "DATASET", description = "Dataset folders written by 'twinserve sweep'.")
    List<Path> datasets;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "MODEL_DIR",
            description = "The model folder to write.")
    Path output;

    @Option(
            names = "--folds",
            defaultValue = "5",
            description = "k of the cross-validation (default ${DEFAULT-VALUE}).")
    int folds;

    @Option(
            names = "--hold-out",
            defaultValue = "0.2",
            description = "Share of workloads held out for the report (default ${DEFAULT-VALUE}).")
    double holdOut;

    @Option(
            names = "--seed",
            defaultValue = "1",
            description = "Seed of the workload split and the trees (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--objective",
            defaultValue = "cost",
            description =
                    "Placement objective among the configurations that meet the SLO: cost or throughput-per-gpu (default ${DEFAULT-VALUE}).")
    String objective;

    @Option(
            names = "--slo",
            paramLabel = "KEY=VALUE[,KEY=VALUE...]",
            description =
                    "SLO bounds the labels are judged by, over the defaults (repeatable): ttft_p90_ms, ttft_p99_ms,"
                            + " itl_p99_ms, max_timed_out_fraction, min_served_share, no_starvation ('off' turns one off). The model"
                            + " records them, and plans say which SLO they are for.")
    List<String> slo = new ArrayList<>();

    @Option(
            names = "--threads",
            paramLabel = "N",
            description = "Cross-validation fits in parallel (default: all cores).")
    Integer threads;

    @Option(
            names = "--shared-trees",
            description = "One tree per target for every model in the datasets (the model a"
                    + " feature) instead of each model's own trees.")
    boolean sharedTrees;

    @Option(
            names = "--no-refit",
            description = "Keep the trees fitted without the held-out workloads (the ones the"
                    + " report scores) instead of fitting them again on every workload with the chosen settings.")
    boolean noRefit;

    @Option(
            names = "--served-trees",
            paramLabel = "N",
            description = "Trees of the served count's bagged forest, each on a"
                    + " bootstrap sample of the families, averaged (default: " + Trainer.SERVED_TREES
                    + "; 1: one tree).")
    Integer servedTrees;

    @Option(
            names = "--slots-trees",
            paramLabel = "N",
            description = "Trees of the slots target's bagged forest, averaged" + " (default: " + Trainer.SLOTS_TREES
                    + "; 1: one tree).")
    Integer slotsTrees;

    @Option(
            names = "--slo-trees",
            paramLabel = "N",
            description = "Trees of the slo target's bagged forest, voting (odd;" + " default: " + Trainer.SLO_TREES
                    + "; 1: one tree).")
    Integer sloTrees;

    @Option(names = "--json", description = "Print the reports as JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (folds < 2) {
            throw new IllegalArgumentException("--folds must be >= 2, got " + folds);
        }
        if (sloTrees != null && (sloTrees < 1 || sloTrees % 2 == 0)) {
            throw new IllegalArgumentException(
                    "--slo-trees must be odd and >= 1 (a vote of two labels must not tie), got " + sloTrees);
        }
        if (slotsTrees != null && slotsTrees < 1) {
            throw new IllegalArgumentException("--slots-trees must be >= 1, got " + slotsTrees);
        }
        if (servedTrees != null && servedTrees < 1) {
            throw new IllegalArgumentException("--served-trees must be >= 1, got " + servedTrees);
        }
        if (!(holdOut > 0 && holdOut < 1)) {
            throw new IllegalArgumentException("--hold-out must be in (0, 1), got " + holdOut);
        }
        List<SweepRow> rows = new ArrayList<>();
        List<Dataset.Provenance> provs = new ArrayList<>();
        for (Path d : datasets) {
            Dataset ds = Dataset.read(d);
            rows.addAll(ds.rows());
            provs.add(ds.provenance());
        }
        SloSpec labelSlo = SloSpec.resolve(slo.isEmpty() ? null : SloSpec.parseAssignments(slo));
        for (int i = 0; i < provs.size(); i++) {
            // a sweep that skipped the served counts past its SLO misses cannot label a looser SLO: those rows are gone
            SweepSpec swept =
                    Sweeps.parse(provs.get(i).specYaml(), datasets.get(i).resolve(Dataset.PROVENANCE));
            String looser = swept.stopAfterMiss() == null ? null : labelSlo.looserBoundThan(swept.slo());
            if (looser != null) {
                throw new IllegalArgumentException(datasets.get(i) + " was swept with stop_after_miss under the SLO "
                        + swept.slo().describe() + ", so it lacks the larger served counts that the SLO given here ("
                        + labelSlo.describe() + ") can meet: " + looser
                        + " is looser. Train with an SLO at least as strict, or"
                        + " sweep again with a looser slo in the spec (or without stop_after_miss).");
            }
        }
        Trainer.Options defaults = Trainer.Options.defaults();
        Trainer.Options o = new Trainer.Options(
                folds,
                holdOut,
                seed,
                defaults.depths(),
                defaults.minChildWeights(),
                Labels.Objective.parse(objective),
                labelSlo,
                threads != null ? threads : defaults.threads(),
                !noRefit,
                !sharedTrees,
                servedTrees != null ? servedTrees : defaults.servedTrees(),
                slotsTrees != null ? slotsTrees : defaults.slotsTrees(),
                sloTrees != null ? sloTrees : defaults.sloTrees());
        long t0 = System.nanoTime();
        Trainer trainer = new Trainer(o);
        // the first dataset's pools are the main grid; another dataset's pools (other GPUs) get trees of their own
        java.util.Set<String> mainPools = new java.util.LinkedHashSet<>();
        for (SweepSpec.PoolEntry p : Sweeps.parse(
                        provs.getFirst().specYaml(), datasets.getFirst().resolve(Dataset.PROVENANCE))
                .pools()) {
            mainPools.add(p.name());
        }
        List<Trainer.Fitted> fitted = trainer.train(rows, mainPools);
        double seconds = (System.nanoTime() - t0) / 1e9;
        Map<String, Object> training = new LinkedHashMap<>();
        training.put("folds", folds);
        training.put("hold_out", holdOut);
        training.put("seed", seed);
        training.put("refit_on_every_workload", !noRefit);
        training.put("per_model_trees", !sharedTrees);
        training.put("served_trees", o.servedTrees());
        training.put("slots_trees", o.slotsTrees());
        training.put("slo_trees", o.sloTrees());
        training.put("depths", Arrays.stream(o.depths()).boxed().toList());
        training.put("min_child_weights", o.minChildWeights());
        training.put("objective", o.objective().name().toLowerCase(Locale.ROOT));
        training.put("slo", o.slo());
        training.put("seconds", Math.round(seconds * 10) / 10.0);
        // GPU-seconds per prompt and per output token, per model: the load features' estimate (LoadModel)
        training.put("load_model", trainer.load().perModel());
        PlacementModel.write(
                output, fitted, provs, training, Provenance.currentVersion(), Provenance.buildCommit(), rows);
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("seconds", Math.round(seconds * 10) / 10.0);
            doc.put("reports", Trainer.reports(fitted));
            doc.put("model", output.toString());
            out.println(Json.write(doc));
            return 0;
        }
        out.printf(
                Locale.ROOT,
                "trained %d targets on %,d rows in %.1f s (%d-fold CV over workloads, %.0f%% of workloads"
                        + " held out)%n%n",
                fitted.size(),
                rows.size(),
                seconds,
                folds,
                holdOut * 100);
        int w = Math.max(
                13, fitted.stream().mapToInt(f -> f.target().length()).max().orElse(0));
        out.printf(
                Locale.ROOT,
                "%-" + w + "s %-14s %8s %9s %6s %5s %4s %10s %9s %7s %9s %6s%n",
                "target",
                "kind",
                "examples",
                "workloads",
                "held",
                "depth",
                "leaf",
                "CV score",
                "SMAPE %",
                "R2",
                "accuracy",
                "nodes");
        for (Trainer.Fitted f : fitted) {
            Trainer.Report r = f.report();
            out.printf(
                    Locale.ROOT,
                    "%-" + w + "s %-14s %,8d %,9d %,6d %5d %4.0f %10.4f %9s %7s %9s %,6d%n",
                    r.target(),
                    r.kind(),
                    r.examples(),
                    r.trainWorkloads() + r.heldOutWorkloads(),
                    r.heldOutWorkloads(),
                    r.depth(),
                    r.minChildWeight(),
                    r.cvScore(),
                    Double.isNaN(r.smapePct()) ? "-" : String.format(Locale.ROOT, "%.2f", r.smapePct()),
                    Double.isNaN(r.r2()) ? "-" : String.format(Locale.ROOT, "%.4f", r.r2()),
                    Double.isNaN(r.accuracy()) ? "-" : String.format(Locale.ROOT, "%.2f%%", 100 * r.accuracy()),
                    r.nodes());
        }
        out.println();
        out.println(
                "CV score: mean SMAPE % (regressors) or error rate (classifiers) of the chosen depth and leaf weight.");
        out.println(
                noRefit
                        ? "The trees kept are the ones the held-out figures score."
                        : "The held-out figures score the chosen settings fitted without those workloads; the trees kept are fitted"
                                + " again on every workload (--no-refit keeps the scored ones).");
        out.println("wrote " + output);
        return 0;
    }
}
