package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.tribuo.ensemble.EnsembleModel;

class TrainerTest {
    @TempDir
    static Path dir;

    static Dataset data;
    static List<Trainer.Fitted> fitted;
    static Path modelDir;
    static double[] MEANS;

    @BeforeAll
    static void train() throws IOException {
        data = SweepFixtures.run(SweepFixtures.SMALL, null, 2);
        MEANS = SweepFixtures.sweep(SweepFixtures.SMALL)
                .shapeMeans(SweepFixtures.sweep(SweepFixtures.SMALL)
                        .spec()
                        .lengths()
                        .getFirst());
        Trainer.Options o = new Trainer.Options(
                3, 0.2, 1L, new int[] {4, 8}, new float[] {1f, 2f}, Labels.Objective.COST, SloSpec.DEFAULTS, 2);
        Trainer trainer = new Trainer(o);
        fitted = trainer.train(data.rows());
        modelDir = dir.resolve("model");
        writeAsTrained(modelDir, fitted, trainer);
    }

    /**
     * Writes {@code fitted} as {@code twinserve train} does: the served target answers a GPU share, read through
     * the trainer's load estimate.
     */
    private static void writeAsTrained(Path dir, List<Trainer.Fitted> fitted, Trainer trainer) throws IOException {
        PlacementModel.write(
                dir,
                fitted,
                List.of(data.provenance()),
                Map.of(
                        "folds",
                        3,
                        "slo",
                        SloSpec.DEFAULTS,
                        "load_model",
                        trainer.load().perModel()),
                "test",
                "unknown",
                data.rows());
    }

    @Test
    void fitsEveryTargetAndScoresHeldOutWorkloads() {
        assertThat(fitted).extracting(Trainer.Fitted::target).containsExactly("served", "slots", "throughput", "slo");
        for (Trainer.Fitted f : fitted) {
            Trainer.Report r = f.report();
            assertThat(r.heldOutWorkloads()).isPositive();
            assertThat(r.compiledAgrees())
                    .as("compiled tree equals Tribuo on %s", r.target())
                    .isTrue();
            if (f.classification()) {
                assertThat(r.accuracy()).isBetween(0.5, 1.0);
            } else {
                assertThat(r.smapePct()).isFinite().isGreaterThanOrEqualTo(0);
            }
        }
        // throughput of configurations that keep up is close to their offered load, which the tree learns as a share
        assertThat(Trainer.reports(fitted).get("throughput").smapePct()).isLessThan(5);
    }

    @Test
    void theServedCountIsABaggedForestThatSurvivesTheModelFolder() throws IOException {
        Trainer.Options o = new Trainer.Options(
                3,
                0.2,
                1L,
                new int[] {4, 8},
                new float[] {1f, 2f},
                Labels.Objective.COST,
                SloSpec.DEFAULTS,
                2,
                true,
                true,
                5,
                1,
                1);
        Trainer forestTrainer = new Trainer(o);
        List<Trainer.Fitted> forest = forestTrainer.train(data.rows());
        Trainer.Fitted served = forest.getFirst();
        assertThat(served.target()).isEqualTo("served");
        assertThat(served.model()).isInstanceOf(EnsembleModel.class);
        assertThat(served.tree().trees()).isEqualTo(5);
        assertThat(served.report().trees()).isEqualTo(5);
        assertThat(served.report().compiledAgrees())
                .as("the compiled forest's mean equals Tribuo's ensemble")
                .isTrue();
        // the other targets stay single trees
        assertThat(forest.subList(1, forest.size()))
                .allMatch(f -> f.tree().trees() == 1 && f.report().trees() == 1);
        Path forestDir = dir.resolve("forest");
        writeAsTrained(forestDir, forest, forestTrainer);
        PlacementModel loaded = PlacementModel.load(forestDir);
        assertThat(loaded.target("served").tree().trees()).isEqualTo(5);
        Planner.Plan a = new Planner(loaded)
                .plan(new Planner.Request(
                        data.rows().getFirst().model(),
                        64,
                        new double[] {0.4, 0.2, 0.1},
                        new int[] {8, 16, 32},
                        MEANS[0],
                        MEANS[1],
                        1.0,
                        null,
                        Labels.Objective.COST,
                        null));
        assertThat(String.join(" ", a.rules().get("served"))).contains("the mean of 5 trees");
        assertThatThrownBy(() -> new Trainer.Options(
                        3,
                        0.2,
                        1L,
                        new int[] {4},
                        new float[] {1f},
                        Labels.Objective.COST,
                        SloSpec.DEFAULTS,
                        2,
                        true,
                        true,
                        0,
                        1,
                        1))
                .hasMessageContaining("served trees must be >= 1, got 0");
    }

    @Test
    void theSlotsAndSloTargetsCanBeForests() throws IOException {
        Trainer.Options o = new Trainer.Options(
                3,
                0.2,
                1L,
                new int[] {4, 8},
                new float[] {1f, 2f},
                Labels.Objective.COST,
                SloSpec.DEFAULTS,
                2,
                true,
                true,
                1,
                3,
                5);
        Trainer forestTrainer = new Trainer(o);
        List<Trainer.Fitted> forest = forestTrainer.train(data.rows());
        Trainer.Fitted slo = forest.stream()
                .filter(f -> f.target().equals("slo"))
                .findFirst()
                .orElseThrow();
        assertThat(slo.tree().trees()).isEqualTo(5);
        assertThat(slo.report().compiledAgrees())
                .as("the compiled majority vote equals Tribuo's voting ensemble")
                .isTrue();
        assertThat(slo.report().accuracy()).isBetween(0.5, 1.0);
        Trainer.Fitted slots = forest.stream()
                .filter(f -> f.target().equals("slots"))
                .findFirst()
                .orElseThrow();
        assertThat(slots.tree().trees()).isEqualTo(3);
        assertThat(slots.report().compiledAgrees()).isTrue();
        Path forestDir = dir.resolve("slo-forest");
        writeAsTrained(forestDir, forest, forestTrainer);
        Planner.Plan p = new Planner(PlacementModel.load(forestDir))
                .plan(new Planner.Request(
                        data.rows().getFirst().model(),
                        64,
                        new double[] {0.4, 0.2, 0.1},
                        new int[] {8, 16, 32},
                        MEANS[0],
                        MEANS[1],
                        1.0,
                        null,
                        Labels.Objective.COST,
                        null));
        assertThat(String.join(" ", p.rules().get("slo"))).containsPattern("\\(\\d of 5 trees vote it meets");
        assertThatThrownBy(() -> new Trainer.Options(
                        3,
                        0.2,
                        1L,
                        new int[] {4},
                        new float[] {1f},
                        Labels.Objective.COST,
                        SloSpec.DEFAULTS,
                        2,
                        true,
                        true,
                        1,
                        1,
                        4))
                .hasMessageContaining("slo trees must be odd and >= 1");
    }

    @Test
    void theKeptTreesAreFittedOnEveryWorkloadAndTheReportScoresTheFitWithout() {
        assertThat(fitted).allMatch(f -> f.report().refit());
        Trainer.Options o = new Trainer.Options(
                3, 0.2, 1L, new int[] {4, 8}, new float[] {1f, 2f}, Labels.Objective.COST, SloSpec.DEFAULTS, 2, false);
        Trainer t = new Trainer(o);
        List<Trainer.Fitted> scored = t.train(data.rows());
        for (int i = 0; i < fitted.size(); i++) {
            Trainer.Report a = fitted.get(i).report();
            Trainer.Report b = scored.get(i).report();
            // the same settings chosen and the same held-out figures: the report does not see the refit
            assertThat(a.depth()).isEqualTo(b.depth());
            assertThat(a.minChildWeight()).isEqualTo(b.minChildWeight());
            // (boxed: a classifier's SMAPE and a regressor's accuracy are NaN, equal as Doubles)
            assertThat(Double.valueOf(a.cvScore())).isEqualTo(Double.valueOf(b.cvScore()));
            assertThat(Double.valueOf(a.smapePct())).isEqualTo(Double.valueOf(b.smapePct()));
            assertThat(Double.valueOf(a.accuracy())).isEqualTo(Double.valueOf(b.accuracy()));
            assertThat(b.refit()).isFalse();
        }
        // the refit trees learnt from the held-out workloads too: on them the served tree is at least as close (the
        // examples as the trainer made them, with its load estimate); the scored tree never saw them
        assertThat(fitted.getFirst().gpuShare()).isTrue();
        Trainer.Examples e =
                t.servedExamples(data.rows().stream().filter(SweepRow::fits).toList());
        Set<String> heldOut = t.heldOutGroups(e);
        assertThat(heldOut).isNotEmpty();
        double refitError = 0;
        double scoredError = 0;
        for (int i = 0; i < e.x().size(); i++) {
            if (!heldOut.contains(e.groups().get(i))) {
                continue;
            }
            List<String> names = fitted.getFirst().featureNames();
            double[] v = Arrays.copyOf(e.x().get(i), names.size());
            for (String c : e.categorical().get(i).split("\u0000")) {
                v[names.indexOf(c)] = 1;
            }
            // in the tree's own units (a share of a GPU), which its fit minimises
            refitError += Math.abs(fitted.getFirst().tree().predict(v) - e.y().get(i));
            scoredError += Math.abs(scored.getFirst().tree().predict(v) - e.y().get(i));
        }
        assertThat(refitError).isLessThan(scoredError);
    }

    @Test
    void labelsAreTheTwinsAnswerUnderTheSlo() {
        SloSpec slo = SloSpec.DEFAULTS;
        // the optimum served count is the last count before no slot count meets the SLO
        for (Labels.Served s : Labels.served(data.rows(), slo)) {
            List<SweepRow> family = data.rows().stream()
                    .filter(r -> r.familyKey().equals(s.example().familyKey()))
                    .toList();
            for (SweepRow r : family) {
                if (r.served() <= s.optimum()) {
                    assertThat(family.stream().anyMatch(x -> x.served() == r.served() && x.meets(slo)))
                            .isTrue();
                }
            }
            int next = family.stream()
                    .mapToInt(SweepRow::served)
                    .filter(n -> n > s.optimum())
                    .min()
                    .orElse(-1);
            if (next > 0) {
                assertThat(family.stream().filter(x -> x.served() == next)).noneMatch(x -> x.meets(slo));
            }
        }
        // a run that starves never meets the SLO, and some that keep up by the study's test still miss it
        assertThat(data.rows()).filteredOn(SweepRow::starving).noneMatch(r -> r.meets(slo));
        // the best slot count: within 1% of the best throughput among those meeting the SLO, the fewest slots
        for (Labels.Slots s : Labels.slots(data.rows(), slo)) {
            List<SweepRow> w = data.rows().stream()
                    .filter(r -> r.workloadKey().equals(s.example().workloadKey()) && r.meets(slo))
                    .toList();
            double best = w.stream().mapToDouble(SweepRow::throughputTps).max().orElseThrow();
            assertThat(s.throughput()).isGreaterThanOrEqualTo(0.99 * best);
            assertThat(w.stream().filter(r -> r.slots() < s.optimum())).allMatch(r -> r.throughputTps() < 0.99 * best);
        }
    }

    /** Two models' rows: each gets its own trees, and a plan reads its model's. */
    @Test
    void eachModelGetsItsOwnTrees(@TempDir Path tmp) throws IOException {
        Dataset qwen = SweepFixtures.run(
                SweepFixtures.SMALL
                        .replace("llama-3.1-8b", "qwen2.5-7b")
                        .replace("[vllm-0.8.5-h100-64gb/llama-3.1-8b]", "[vllm-0.8.5-h100-64gb/qwen2.5-7b]"),
                null,
                2);
        List<SweepRow> both = new ArrayList<>(data.rows());
        both.addAll(qwen.rows());
        Trainer.Options o = new Trainer.Options(
                3, 0.2, 1L, new int[] {4, 8}, new float[] {1f, 2f}, Labels.Objective.COST, SloSpec.DEFAULTS, 2);
        Trainer apartTrainer = new Trainer(o);
        List<Trainer.Fitted> apart = apartTrainer.train(both);
        assertThat(apart)
                .extracting(Trainer.Fitted::target)
                .containsExactly(
                        "served@llama-3.1-8b",
                        "slots@llama-3.1-8b",
                        "throughput@llama-3.1-8b",
                        "slo@llama-3.1-8b",
                        "served@qwen2.5-7b",
                        "slots@qwen2.5-7b",
                        "throughput@qwen2.5-7b",
                        "slo@qwen2.5-7b");
        assertThat(apart)
                .filteredOn(f -> f.target().startsWith("throughput@"))
                .allMatch(Trainer.Fitted::ratioToOffered);
        // Llama's trees are the ones its rows alone give
        for (int i = 0; i < 4; i++) {
            assertThat(Double.valueOf(apart.get(i).report().smapePct()))
                    .isEqualTo(Double.valueOf(fitted.get(i).report().smapePct()));
            assertThat(apart.get(i).tree().nodes())
                    .isEqualTo(fitted.get(i).tree().nodes());
        }
        Path dirApart = tmp.resolve("apart");
        PlacementModel.write(
                dirApart,
                apart,
                List.of(data.provenance()),
                Map.of(
                        "slo",
                        SloSpec.DEFAULTS,
                        "load_model",
                        apartTrainer.load().perModel()),
                "test",
                "unknown",
                both);
        PlacementModel m = PlacementModel.load(dirApart);
        assertThat(m.target("served")).isNull();
        Planner planner = new Planner(m);
        for (String model : List.of("llama-3.1-8b", "qwen2.5-7b")) {
            Planner.Plan plan = planner.plan(new Planner.Request(
                    model,
                    40,
                    new double[] {0.4, 0.1, 0.025},
                    new int[] {8, 16, 32},
                    MEANS[0],
                    MEANS[1],
                    1.0,
                    null,
                    Labels.Objective.COST,
                    null));
            assertThat(plan.servedPerGpu()).isPositive();
            assertThat(m.target("served", model).name()).isEqualTo("served@" + model);
            assertThat(m.report("throughput", model).target()).isEqualTo("throughput@" + model);
        }
        assertThatThrownBy(() -> planner.plan(new Planner.Request(
                        "mistral-7b",
                        40,
                        new double[] {0.4, 0.1, 0.025},
                        new int[] {8, 16, 32},
                        MEANS[0],
                        MEANS[1],
                        1.0,
                        null,
                        Labels.Objective.COST,
                        null)))
                .hasMessageContaining("model 'mistral-7b' is not among the trained models: llama-3.1-8b, qwen2.5-7b");
        // shared trees on request: one per target, the model a feature
        Trainer.Options shared = new Trainer.Options(
                3,
                0.2,
                1L,
                new int[] {4, 8},
                new float[] {1f, 2f},
                Labels.Objective.COST,
                SloSpec.DEFAULTS,
                2,
                true,
                false);
        assertThat(new Trainer(shared).train(both))
                .extracting(Trainer.Fitted::target)
                .containsExactly("served", "slots", "throughput", "slo");
    }

    @Test
    void savedModelLoadsAndPlans() throws IOException {
        PlacementModel m = PlacementModel.load(modelDir);
        Planner planner = new Planner(m);
        Planner.Request req = new Planner.Request(
                "llama-3.1-8b",
                40,
                new double[] {0.4, 0.1, 0.025},
                new int[] {8, 16, 32},
                MEANS[0],
                MEANS[1],
                1.0,
                null,
                Labels.Objective.COST,
                null);
        Planner.Plan plan = planner.plan(req);
        assertThat(plan.servedPerGpu()).isBetween(16, 40);
        assertThat(plan.maxAdapters()).isLessThanOrEqualTo(plan.servedPerGpu());
        assertThat(plan.throughputTps()).isPositive();
        assertThat(plan.rules().get("served")).last().asString().startsWith("=>");
        assertThat(plan.warnings()).isEmpty();
        // the compiled trees read the same features as Tribuo's
        assertThat(m.target("throughput").tree().nodes())
                .isEqualTo(fitted.get(2).tree().nodes());

        PlanTwin.Verification v = planner.twin().verify(plan, req, Profiles.builtIn(), Path.of("."), SloSpec.DEFAULTS);
        assertThat(v.simulated().fits()).isTrue();
        assertThat(v.simulated().stoppedAtS()).isZero();
        assertThat(v.errorPct()).isFinite();
        // an open-loop workload: the prediction's share of the offered load against the run's, at the load the run's
        // arrivals offered (what the twin drew, not the rates' nominal load)
        assertThat(v.sharesCompared()).isTrue();
        assertThat(v.predictedOfferedTps()).isEqualTo(plan.offeredTps());
        double atDrawn =
                plan.throughputTps() / plan.offeredTps() * v.simulated().offeredTps();
        assertThat(v.errorPct())
                .isCloseTo(
                        100
                                * (atDrawn - v.simulated().throughputTps())
                                / v.simulated().throughputTps(),
                        org.assertj.core.data.Offset.offset(0.01));
        assertThat(v.verdict()).isEqualTo(v.simulated().verdict(SloSpec.DEFAULTS));
        assertThat(m.slo()).isEqualTo(SloSpec.DEFAULTS);
    }

    @Test
    void heldOutPlansAreComparedWithTheTwinsOwnBest() throws IOException {
        PlacementModel m = PlacementModel.load(modelDir);
        PlanEvaluation eval = new PlanEvaluation(
                m, SweepFixtures.sweep(SweepFixtures.SMALL).spec(), Profiles.builtIn(), SloSpec.DEFAULTS);
        List<SweepSpec> families = eval.families(3, 7);
        assertThat(families).hasSize(3);
        for (SweepSpec f : families) {
            // off the grid's rates, inside its range
            assertThat(f.rates())
                    .allMatch(r -> r >= 0.00625 && r <= 3.2)
                    .noneMatch(r -> List.of(3.2, 1.6, 0.4, 0.1, 0.025, 0.00625).contains(r));
        }
        List<PlanEvaluation.Case> cases = eval.run(families, 2, done -> {});
        assertThat(cases).hasSize(3);
        for (PlanEvaluation.Case c : cases) {
            assertThat(c.runs()).isEqualTo(5);
            assertThat(List.of(0, 16, 64, 128)).contains(c.twinServed());
            if (c.planServed() == c.twinServed() && c.planSlots() == c.twinSlots()) {
                assertThat(c.regretPct()).isZero();
            }
            if (c.twinServed() > 0) {
                assertThat(c.twinThroughputTps()).isPositive();
                assertThat(c.regretPct()).isLessThanOrEqualTo(100);
                // plan --verify's answer: the grid is within the search's budget, so it finds a configuration that
                // meets
                assertThat(c.verified().meetsSlo()).as("case %d", c.index()).isTrue();
                assertThat(c.verified().regretPct()).isGreaterThanOrEqualTo(-1e-9);
            }
            if (c.planMeetsSlo()) {
                // a plan the twin meets is kept or bettered with more adapters per GPU, never fewer
                assertThat(c.verified().served()).isGreaterThanOrEqualTo(c.planServed());
            } else {
                // a plan that misses the SLO gets no credit for serving more than the twin's best
                assertThat(c.regretPct()).isGreaterThanOrEqualTo(0);
            }
            assertThat(c.verified().runs()).isBetween(1, 1 + PlanEvaluation.SEARCH_BUDGET);
        }
        // wide draws: lengths and burstiness across the diverse grid's (CV 1 to 2, prompt means 110 to 2,048)
        List<SweepSpec> wide =
                eval.families(20, 7, Sweeps.parse(Sweeps.builtInText(Sweeps.DIVERSE_GRID), Path.of("d.yaml")));
        assertThat(wide).allSatisfy(f -> assertThat(f.burstiness().getFirst()).isBetween(1.0, 2.0));
        assertThat(wide).anySatisfy(f -> assertThat(f.burstiness().getFirst()).isGreaterThan(1.2));
        assertThat(wide)
                .anySatisfy(f -> assertThat(((DistributionSpec.LogNormal)
                                        f.lengths().getFirst().lengths().prompt())
                                .mean())
                        .isGreaterThan(500));
        Path csv = dir.resolve("cases.csv");
        PlanEvaluation.writeCases(cases, csv);
        List<String> lines = Files.readAllLines(csv);
        assertThat(lines).hasSize(4);
        assertThat(lines.getFirst())
                .startsWith("index,rate1,rate2,rate3,rank1")
                .endsWith("verified_regret_pct,verified_runs");
        assertThat(lines.get(1)).startsWith("0," + cases.getFirst().rates()[0] + ",");
        PlanEvaluation.Summary s = PlanEvaluation.summarize(cases, 1.0);
        assertThat(s.cases()).isEqualTo(3);
        assertThat(s.runs()).isEqualTo(15);
        assertThat(s.sloMetPct()).isBetween(0.0, 100.0);
        assertThat(s.withinThreePct()).isBetween(0.0, 100.0);
    }

    /**
     * The labels' noise floor: each family's twin table on its own seed and on another, the first table's best scored
     * on the second. The answer is the twin's own (a grid configuration), and where the second draw has no
     * configuration that meets the SLO there is nothing to regret.
     */
    @Test
    void theTwinsOwnAnswerIsScoredOnAnotherDraw() throws IOException {
        PlacementModel m = PlacementModel.load(modelDir);
        PlanEvaluation eval = new PlanEvaluation(
                m, SweepFixtures.sweep(SweepFixtures.SMALL).spec(), Profiles.builtIn(), SloSpec.DEFAULTS);
        List<SweepSpec> families = eval.families(2, 7);
        assertThatThrownBy(() -> eval.reseeded(families, 0, 2, done -> {}, null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("offset of 0");
        Path tables = dir.resolve("seed-tables");
        List<PlanEvaluation.SeedCase> cases = eval.reseeded(families, 1000, 2, done -> {}, tables);
        assertThat(cases).hasSize(2);
        // both draws of both families kept: four tables
        try (var files = Files.list(tables)) {
            assertThat(files.count()).isEqualTo(4);
        }
        for (PlanEvaluation.SeedCase c : cases) {
            assertThat(List.of(0, 16, 64, 128)).contains(c.served(), c.otherServed());
            if (c.otherServed() == 0) {
                assertThat(c.regretPct()).isZero();
            }
            if (!c.meetsSlo()) {
                assertThat(c.regretPct()).isGreaterThanOrEqualTo(0);
            }
        }
        // the same draws again: the same answers (the tables are read back)
        assertThat(eval.reseeded(families, 1000, 2, done -> {}, tables)).isEqualTo(cases);
    }

    @Test
    void reseededCasesAreCountedAsPlansAre() {
        List<PlanEvaluation.SeedCase> cases = List.of(
                new PlanEvaluation.SeedCase(0, 64, 32, 1, 64, 0.5, true),
                new PlanEvaluation.SeedCase(1, 64, 32, 1, 96, 25, true),
                new PlanEvaluation.SeedCase(2, 96, 64, 1, 64, 0, false),
                new PlanEvaluation.SeedCase(3, 16, 16, 1, 0, 0, false));
        PlanEvaluation.SeedSummary s = PlanEvaluation.summarizeSeeds(cases);
        assertThat(s.cases()).isEqualTo(4);
        assertThat(s.servedDiffersPct()).isEqualTo(75.0);
        assertThat(s.meanRegretPct()).isCloseTo(25.5 / 4, within(0.01));
        // within 3%: the first, and the fourth (nothing meets on the second draw); not the third, which misses
        assertThat(s.withinThreePct()).isEqualTo(50.0);
        assertThat(s.feasible()).isEqualTo(3);
        assertThat(s.sloMetFeasiblePct()).isCloseTo(100.0 * 2 / 3, within(0.01));
        // (0 + 2*32/160 + 2*32/160 + 2) / 4
        assertThat(s.servedSmapePct()).isCloseTo(100 * (0.4 + 0.4 + 2) / 4, within(0.01));
    }

    /**
     * The verified answers' served SMAPE: an answer that meets the SLO at the twin's best count scores 0, one two
     * grid steps off scores its SMAPE, and an answer that meets nothing counts as 0 served (the command says no
     * configuration meets), which is right where the twin's best is none too and wrong where it is some.
     */
    @Test
    void verifiedServedSmapeCountsAnAnswerThatMeetsNothingAsNone() {
        List<PlanEvaluation.Case> cases = List.of(
                verifiedCase(0, 64, new PlanEvaluation.Verified(64, 64, 1, 1000, true, 0, 3)),
                verifiedCase(1, 64, new PlanEvaluation.Verified(32, 32, 1, 900, true, 10, 4)),
                verifiedCase(2, 0, new PlanEvaluation.Verified(16, 16, 1, 100, false, 0, 5)),
                verifiedCase(3, 16, new PlanEvaluation.Verified(16, 16, 1, 100, false, 0, 5)));
        PlanEvaluation.VerifiedSummary v = PlanEvaluation.summarize(cases, 1.0).verified();
        // (0 + 2*32/96 + 0 + 2) / 4
        assertThat(v.servedSmapePct()).isCloseTo(100 * (2.0 * 32 / 96 + 2) / 4, within(0.01));
        assertThat(v.sloMetPct()).isEqualTo(50.0);
        // within 3% of the twin's best under the SLO: the first (exact) and the third (nothing meets, nothing to be
        // within); not the second (10% short) nor the fourth (misses an SLO the twin's best meets)
        assertThat(v.withinThreePct()).isEqualTo(50.0);
        assertThat(v.meanRuns()).isEqualTo(4.3);
    }

    private static PlanEvaluation.Case verifiedCase(int index, int twinServed, PlanEvaluation.Verified v) {
        return new PlanEvaluation.Case(
                index,
                new double[] {0.1, 0.05, 0.025},
                new int[] {8, 8, 8},
                223,
                195,
                1,
                0,
                twinServed,
                twinServed,
                1000,
                1,
                twinServed,
                twinServed,
                twinServed,
                1,
                1000,
                true,
                false,
                0,
                55,
                v);
    }

    /** The searches of plan --verify, run on one family's table of runs. */
    @Test
    void verifySearchesUpAfterAMeetAndDownAfterAMiss() throws IOException {
        Planner planner = new Planner(PlacementModel.load(modelDir));
        SloSpec slo = SloSpec.DEFAULTS;
        Map<String, List<SweepRow>> families =
                data.rows().stream().filter(SweepRow::fits).collect(Collectors.groupingBy(SweepRow::familyKey));
        int searchedUp = 0;
        for (List<SweepRow> family : families.values()) {
            SweepRow first = family.getFirst();
            PlanSearch.Runner table = (n, slots) -> family.stream()
                    .filter(r -> r.served() == n && r.slots() == slots)
                    .findFirst()
                    .orElse(null);
            Planner.Plan plan = planner.plan(new Planner.Request(
                    "llama-3.1-8b",
                    128,
                    new double[] {first.rate1(), first.rate2(), first.rate3()},
                    new int[] {first.rank1(), first.rank2(), first.rank3()},
                    MEANS[0],
                    MEANS[1],
                    1.0,
                    null,
                    Labels.Objective.COST,
                    null));
            Planner.Plan at16 = new Planner.Plan(
                    plan.model(),
                    128,
                    16,
                    8,
                    plan.predictedServedMax(),
                    16,
                    plan.pool(),
                    plan.tp(),
                    plan.kvCacheLen(),
                    plan.throughputTps(),
                    plan.offeredTps(),
                    true,
                    Map.of(),
                    List.of(),
                    plan.features().withServed(16));
            boolean meets16 = family.stream().anyMatch(r -> r.served() == 16 && r.slots() == 16 && r.meets(slo));
            if (!meets16) {
                continue;
            }
            List<PlanSearch.Alternative> up = planner.searches().up(at16, slo, 12, table);
            searchedUp++;
            // counts above the plan's, in order; each count's last try is its first that meets, except at the end
            int previous = 16;
            for (int i = 0; i < up.size(); i++) {
                PlanSearch.Alternative a = up.get(i);
                assertThat(a.servedPerGpu())
                        .isGreaterThan(16)
                        .isGreaterThanOrEqualTo(previous)
                        .isLessThanOrEqualTo(128);
                boolean lastOfCount = i == up.size() - 1 || up.get(i + 1).servedPerGpu() != a.servedPerGpu();
                if (!lastOfCount || i == up.size() - 1) {
                    continue;
                }
                assertThat(a.verdict().met())
                        .as("a count the search moved on from was met")
                        .isTrue();
                previous = a.servedPerGpu();
            }
            PlanSearch.Alternative best = PlanSearch.best(up);
            // the search stops at the first count with no configuration that meets: the best is the twin's optimum
            // when the slots tree's count or a larger one meets wherever some slot count does
            int optimum = Labels.served(family, slo).getFirst().optimum();
            if (best != null) {
                assertThat(best.verdict().met()).isTrue();
                assertThat(best.servedPerGpu()).isLessThanOrEqualTo(optimum);
            } else {
                assertThat(up).noneMatch(a -> a.verdict().met());
            }
            // and down from a plan that misses: the first configuration that meets, at the plan's count or below
            List<PlanSearch.Alternative> down = planner.searches()
                    .down(
                            new Planner.Plan(
                                    plan.model(),
                                    128,
                                    128,
                                    1,
                                    plan.predictedServedMax(),
                                    16,
                                    plan.pool(),
                                    plan.tp(),
                                    plan.kvCacheLen(),
                                    plan.throughputTps(),
                                    plan.offeredTps(),
                                    false,
                                    Map.of(),
                                    List.of(),
                                    plan.features().withServed(128)),
                            slo,
                            12,
                            table);
            assertThat(down).isNotEmpty();
            assertThat(down.subList(0, down.size() - 1))
                    .noneMatch(a -> a.verdict().met());
            assertThat(down.getLast().verdict().met()).isTrue();
            assertThat(down.getLast().servedPerGpu()).isEqualTo(optimum > 0 ? Math.min(128, optimum) : 16);
        }
        assertThat(searchedUp).isPositive();
    }

    @Test
    void outOfRangeFeaturesWarnAndUnknownModelsFail() throws IOException {
        Planner planner = new Planner(PlacementModel.load(modelDir));
        Planner.Plan plan = planner.plan(new Planner.Request(
                "llama-3.1-8b",
                16,
                new double[] {9.0, 0.1, 0.025},
                new int[] {8, 16, 32},
                MEANS[0],
                MEANS[1],
                1.0,
                null,
                Labels.Objective.COST,
                null));
        assertThat(plan.warnings())
                .anyMatch(w -> w.startsWith("rate_high = 9 is outside the training range [0.1000, 3.20]"));
        assertThat(plan.warnings()).noneMatch(w -> w.startsWith("prompt_mean"));
        assertThatThrownBy(() -> planner.plan(new Planner.Request(
                        "mistral-7b",
                        16,
                        new double[] {0.4, 0.1, 0.025},
                        new int[] {8, 16, 32},
                        216,
                        195,
                        1.0,
                        null,
                        Labels.Objective.COST,
                        null)))
                .hasMessageContaining("model 'mistral-7b' is not among the trained models: llama-3.1-8b");
        assertThatThrownBy(() -> planner.plan(new Planner.Request(
                        "llama-3.1-8b",
                        16,
                        new double[] {0.4, 0.1, 0.025},
                        new int[] {8, 16, 32},
                        216,
                        195,
                        1.0,
                        List.of("tpu"),
                        Labels.Objective.COST,
                        null)))
                .hasMessageContaining("pool 'tpu' is not among the trained pools");
    }

    @Test
    void corruptOrMissingModelFilesAreNamed(@TempDir Path tmp) throws IOException {
        Path copy = tmp.resolve("m");
        Files.createDirectories(copy);
        try (var files = Files.list(modelDir)) {
            for (Path p : files.toList()) {
                Files.copy(p, copy.resolve(p.getFileName()));
            }
        }
        byte[] bytes = Files.readAllBytes(copy.resolve("slots.tribuo"));
        Files.write(copy.resolve("slots.tribuo"), Arrays.copyOf(bytes, bytes.length / 2));
        assertThatThrownBy(() -> PlacementModel.load(copy))
                .hasMessageContaining("slots.tribuo")
                .hasMessageContaining("not a readable Tribuo model");
        Files.delete(copy.resolve("slots.tribuo"));
        assertThatThrownBy(() -> PlacementModel.load(copy)).hasMessageContaining("slots.tribuo");
        Files.writeString(copy.resolve(PlacementModel.META), "{\"format\": 1, \"targetz\": {}}");
        assertThatThrownBy(() -> PlacementModel.load(copy))
                .hasMessageContaining("model.json")
                .hasMessageContaining("targetz");
    }
}
