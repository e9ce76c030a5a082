package io.twinserve.api.cli;

import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.PlanEvaluation;
import io.twinserve.placement.SweepSpec;
import io.twinserve.placement.Sweeps;
import io.twinserve.traces.spec.SloSpec;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve bench plans}: the placement model's plans against the twin's best on held-out workloads. */
@Command(
        name = "plans",
        mixinStandardHelpOptions = true,
        description = {
            "Plan held-out workloads (per-adapter rates drawn log-uniformly between the training grid's extremes,",
            "lengths drawn around its shape, the first model and pool of the training spec) and compare each plan",
            "with the twin's own best: every served count and slot count of the training grid simulated, the best",
            "under the SLO picked by the labels' rule. Prints the regret (the twin's best throughput per GPU less",
            "the plan's), the share of plans that meet the SLO and the SMAPE of the optimal served adapters."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve bench plans --held-out 300",
            "  twinserve bench plans --held-out 20 --json"
        })
final class BenchPlansCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--held-out",
            paramLabel = "N",
            defaultValue = "300",
            description = "Workloads (default ${DEFAULT-VALUE}).")
    int heldOut;

    @Option(
            names = "--seed",
            defaultValue = "1000",
            description = "Seed of the held-out draws (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--model",
            paramLabel = "MODEL_DIR",
            description = "A model folder from 'twinserve train'; default: the shipped model.")
    Path modelDir;

    @Option(
            names = "--slo",
            paramLabel = "KEY=VALUE[,KEY=VALUE...]",
            description = "SLO bounds over the model's own (repeatable; default: the SLO the model was trained for).")
    List<String> slo = new ArrayList<>();

    @Option(
            names = "--pool",
            paramLabel = "NAME",
            description =
                    "Plan on this trained pool at each of its trained tp (default: the training grid's first pool):"
                            + " a model trained with a grid of other GPUs is scored on them.")
    String pool;

    @Option(names = "--threads", paramLabel = "N", description = "Simulations in parallel (default: all cores).")
    Integer threads;

    @Option(names = "--cases", paramLabel = "FILE.csv", description = "Write every case (workload, twin's best, plan).")
    Path casesOut;

    @Option(
            names = "--wide",
            description = "Draw lengths (prompt and output means independently) and the arrival CV"
                    + " across the built-in diverse grid's range (three length shapes, CV 1 to 2), instead of near the training"
                    + " grid's first length shape with Poisson arrivals.")
    boolean wide;

    @Option(
            names = "--skew",
            paramLabel = "MAX",
            description =
                    "Draw each held-out workload's popularity skew within"
                            + " its tiers uniformly in [0, MAX] (the sweeps' tier_skew); default: the model's training grid's largest.")
    Double skew;

    @Option(
            names = "--tables",
            paramLabel = "DIR",
            description = "Keep each held-out workload's twin table in DIR and"
                    + " reuse it on the next run (to compare models on the same workloads without simulating again); empty DIR"
                    + " when the twin changes.")
    Path tables;

    @Option(
            names = "--reseed",
            paramLabel = "K",
            description = "Instead of scoring the model: the labels' noise floor. Each held-out workload is simulated"
                    + " again with its seed + K (the same rates and lengths, other arrivals drawn), and the twin's own"
                    + " best configuration on the first draw is scored on the second as a plan is: how near any model"
                    + " can come to the twin's best on average.")
    Long reseed;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (heldOut < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--held-out must be >= 1, got " + heldOut);
        }
        if (skew != null && !(skew >= 0 && skew < 1)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--skew must be an exponent in [0, 1), got " + skew);
        }
        if (tables != null && Files.exists(tables) && !Files.isDirectory(tables)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--tables " + tables
                            + ": is a file; give a folder (created when missing) to keep the held-out workloads' twin tables in");
        }
        PlacementModel model = modelDir == null ? PlacementModel.builtIn() : PlacementModel.load(modelDir);
        if (model.specs().isEmpty()) {
            throw new IllegalArgumentException(
                    model.source() + " records no training spec; cannot draw held-out workloads");
        }
        SweepSpec training = pool == null ? model.specs().getFirst() : onPool(model, pool);
        SloSpec effective =
                slo.isEmpty() ? model.slo() : SloSpec.parseAssignments(slo).over(model.slo());
        PlanEvaluation eval = new PlanEvaluation(model, training, WhatIfCommand.profiles(null), effective);
        int n = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
        List<SweepSpec> families = eval.families(
                heldOut,
                seed,
                wide ? Sweeps.parse(Sweeps.builtInText(Sweeps.DIVERSE_GRID), Path.of(Sweeps.DIVERSE_GRID)) : null,
                skew);
        Progress progress = new Progress(spec.commandLine().getErr(), "workloads", true);
        if (reseed != null) {
            if (casesOut != null) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "--cases writes a model's plans, which --reseed does not make; use --json for the reseeded cases");
            }
            if (reseed == 0) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(), "--reseed 0 compares each workload's run with itself; give another offset");
            }
            List<PlanEvaluation.SeedCase> seeded =
                    eval.reseeded(families, reseed, n, done -> progress.tick(done, true), tables);
            progress.done();
            PlanEvaluation.SeedSummary r = PlanEvaluation.summarizeSeeds(seeded);
            if (json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("slo", effective);
                doc.put("reseed", reseed);
                doc.put("summary", r);
                doc.put("cases", seeded);
                out.println(Json.write(doc));
                return 0;
            }
            out.printf(
                    Locale.ROOT,
                    "%d held-out workloads (%s, seed %d), each simulated again with its seed + %d; SLO: %s%n",
                    r.cases(),
                    wide ? "the diverse grid's range" : "lengths near the grid's first shape",
                    seed,
                    reseed,
                    effective.describe());
            out.printf(
                    Locale.ROOT,
                    "the twin's best on the first draw, scored on the second as a plan is:%n"
                            + "  the twin's best served count differs                   %.1f%% of workloads%n"
                            + "  regret (the second draw's best less the first's answer) mean %.2f%%, p90 %.2f%%,"
                            + " within 3%%: %.1f%% of workloads%n"
                            + "  the first answer meets the SLO on the second draw      %.1f%% of the %d workloads where"
                            + " some configuration does%n"
                            + "  optimal served adapters, SMAPE                          %.2f%%%n",
                    r.servedDiffersPct(),
                    r.meanRegretPct(),
                    r.p90RegretPct(),
                    r.withinThreePct(),
                    r.sloMetFeasiblePct(),
                    r.feasible(),
                    r.servedSmapePct());
            return 0;
        }
        long t0 = System.nanoTime();
        List<PlanEvaluation.Case> cases = eval.run(families, n, done -> progress.tick(done, true), tables);
        progress.done();
        PlanEvaluation.Summary s = PlanEvaluation.summarize(cases, (System.nanoTime() - t0) / 1e9);
        if (casesOut != null) {
            PlanEvaluation.writeCases(cases, casesOut);
        }
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("placement_model", model.source());
            doc.put("slo", effective);
            doc.put("summary", s);
            doc.put("cases", cases);
            out.println(Json.write(doc));
            return 0;
        }
        double skewMax = families.stream()
                .mapToDouble(f -> f.tierSkew().getFirst())
                .max()
                .orElse(0);
        out.printf(
                Locale.ROOT,
                "%d held-out workloads (%s%s) of %s on %s (seed %d), %,d twin runs in %.1f s; SLO: %s%n",
                s.cases(),
                wide
                        ? "lengths and burstiness across the diverse grid's range"
                        : "lengths near the grid's first shape, Poisson",
                skewMax > 0 ? String.format(Locale.ROOT, ", within-tier skew 0 to %.2f", skewMax) : "",
                training.models().getFirst().model(),
                training.pools().getFirst().name(),
                seed,
                s.runs(),
                s.seconds(),
                effective.describe());
        out.printf(
                Locale.ROOT,
                "  regret (twin's best throughput per GPU less the plan's)  mean %.2f%%, p90 %.2f%%, within 3%%:"
                        + " %.1f%% of workloads%n",
                s.meanRegretPct(),
                s.p90RegretPct(),
                s.withinThreePct());
        out.printf(
                Locale.ROOT,
                "  plans whose configuration meets the SLO                  %.1f%% (%.1f%% of the %d workloads where"
                        + " some configuration does)%n",
                s.sloMetPct(),
                s.sloMetFeasiblePct(),
                s.feasible());
        out.printf(
                Locale.ROOT, "  optimal served adapters, SMAPE                           %.2f%%%n", s.servedSmapePct());
        out.printf(
                Locale.ROOT, "  plans with a feature outside the training range          %.1f%%%n", s.outOfRangePct());
        PlanEvaluation.VerifiedSummary v = s.verified();
        out.printf(
                Locale.ROOT,
                "after plan --verify (its twin runs and search, budget %d, looked up in the same tables):%n",
                PlanEvaluation.SEARCH_BUDGET);
        out.printf(
                Locale.ROOT,
                "  regret                                                   mean %.2f%%, p90 %.2f%%, within 3%%:"
                        + " %.1f%% of workloads%n",
                v.meanRegretPct(),
                v.p90RegretPct(),
                v.withinThreePct());
        out.printf(
                Locale.ROOT,
                "  answers whose configuration meets the SLO                %.1f%% (%.1f%% where some configuration"
                        + " does)%n",
                v.sloMetPct(),
                v.sloMetFeasiblePct());
        out.printf(
                Locale.ROOT, "  optimal served adapters, SMAPE (no answer = 0)           %.2f%%%n", v.servedSmapePct());
        out.printf(Locale.ROOT, "  twin runs per plan                                       %.1f%n", v.meanRuns());
        if (casesOut != null) {
            out.println("wrote " + casesOut);
        }
        return 0;
    }

    /** The grid a model's pool was trained on (its first dataset's or another's), with that pool alone. */
    private static SweepSpec onPool(PlacementModel model, String name) {
        List<String> known = new ArrayList<>();
        for (SweepSpec s : model.specs()) {
            for (SweepSpec.PoolEntry p : s.pools()) {
                if (p.name().equals(name)) {
                    return s.withPools(List.of(p));
                }
                known.add(p.name());
            }
        }
        throw new IllegalArgumentException("--pool " + name + ": not a pool the model was trained on; it knows "
                + String.join(", ", known.stream().distinct().toList()));
    }
}
