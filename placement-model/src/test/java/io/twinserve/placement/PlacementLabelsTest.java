package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.spec.SloSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Our labels beyond the study's: the best pool and tp per workload for an objective, learnt and planned. */
class PlacementLabelsTest {
    static final String EXTENDED = """
      name: test-extended
      seed: 5
      window_s: 600
      models:
        - {model: llama-3.1-8b, calibrations: [vllm-0.8.5-h100-64gb/llama-3.1-8b]}
      pools:
        - {name: h100, gpu: h100-64gb, cost_per_gpu_hour: 2.5}
        - {name: l40s, gpu: l40s, cost_per_gpu_hour: 1.0}
      served: [16, 64]
      slots: [16]
      rates: [1.6, 0.4, 0.1, 0.025, 0.00625, 0.003125]
      ranks: [[8, 16, 32]]
      tp: [1, 2]
      replica: {max_num_seqs: 256, prefix_caching: false}
      """ + SweepFixtures.STUDY_LENGTHS;

    /** Minute-long TTFTs allowed: the labels of this small grid then hold every pool and tp. */
    private static final SloSpec LOOSE = SloSpec.resolve(new SloSpec(60_000.0, 120_000.0, 1_000.0, null, 0.9, false));

    @Test
    void cheapestConfigurationThatMeetsTheSloIsLearntAndPlanned() {
        Dataset d = SweepFixtures.run(EXTENDED, null, 2);
        List<Labels.Placement> cost = Labels.placements(d.rows(), Labels.Objective.COST, LOOSE);
        assertThat(cost).isNotEmpty();
        for (Labels.Placement p : cost) {
            // no cheaper configuration of the same workload meets the SLO
            assertThat(p.best().meets(LOOSE)).isTrue();
            assertThat(d.rows().stream()
                            .filter(r -> r.workloadKey().equals(p.best().workloadKey()) && r.meets(LOOSE)))
                    .allMatch(r -> r.costPerHour() >= p.best().costPerHour());
        }
        // a stricter SLO never labels a cheaper configuration than a looser one
        SloSpec strict = SloSpec.resolve(new SloSpec(500.0, null, null, null, null, null));
        for (Labels.Placement p : Labels.placements(d.rows(), Labels.Objective.COST, strict)) {
            assertThat(p.best().ttftP90Ms()).isLessThanOrEqualTo(500);
            Labels.Placement loose = cost.stream()
                    .filter(x -> x.best().workloadKey().equals(p.best().workloadKey()))
                    .findFirst()
                    .orElseThrow();
            assertThat(p.best().costPerHour())
                    .isGreaterThanOrEqualTo(loose.best().costPerHour());
        }
        // light workloads go to the cheap pool at tp 1
        assertThat(cost)
                .anyMatch(p -> p.best().pool().equals("l40s") && p.best().tp() == 1);

        Trainer.Options o =
                new Trainer.Options(3, 0.2, 1L, new int[] {4, 8}, new float[] {1f}, Labels.Objective.COST, LOOSE, 2);
        List<Trainer.Fitted> fitted = new Trainer(o).train(d.rows());
        assertThat(fitted).extracting(Trainer.Fitted::target).contains("pool", "tp");
        assertThat(fitted).allMatch(f -> f.report().compiledAgrees());
    }

    /** A grid of other GPUs, trained beside one of the main GPU (as training-grid-gpus.yaml is). */
    static final String OTHER_GPUS = """
      name: test-other-gpus
      seed: 6
      window_s: 600
      models:
        - {model: llama-3.1-8b, calibrations: [vllm-0.8.5-h100-64gb/llama-3.1-8b]}
      pools:
        - {name: l40s, gpu: l40s, cost_per_gpu_hour: 1.0}
        - {name: a100, gpu: a100-sxm-80gb, cost_per_gpu_hour: 1.8}
      served: [16, 64]
      slots: [16]
      rates: [1.6, 0.4, 0.1, 0.025, 0.00625]
      ranks: [[8, 16, 32]]
      replica: {max_num_seqs: 2048, prefix_caching: false}
      """ + SweepFixtures.STUDY_LENGTHS;

    @Test
    void aModelOfTwoGridsPlansTheMainGridsPoolUnlessAnotherIsNamed(@TempDir Path dir) throws IOException {
        Dataset main = SweepFixtures.run(SweepFixtures.SMALL, null, 2);
        Dataset other = SweepFixtures.run(OTHER_GPUS, null, 2);
        List<SweepRow> rows = new ArrayList<>(main.rows());
        rows.addAll(other.rows());

        // the main grid's workloads ran on one configuration: no choice of pool to learn from them
        assertThat(Labels.placements(main.rows(), Labels.Objective.COST, LOOSE)).isEmpty();
        List<Labels.Placement> both = Labels.placements(rows, Labels.Objective.COST, LOOSE);
        // (workloads both grids ran, such as the rate triples they share, choose among every pool)
        assertThat(both)
                .isNotEmpty()
                .allMatch(p -> rows.stream()
                                .filter(r -> r.workloadKey().equals(p.best().workloadKey()))
                                .map(SweepRow::placementKey)
                                .distinct()
                                .count()
                        > 1);

        Trainer.Options o =
                new Trainer.Options(3, 0.2, 1L, new int[] {4, 8}, new float[] {1f}, Labels.Objective.COST, LOOSE, 2);
        Trainer trainer = new Trainer(o);
        // the main grid's pool: the other GPUs' rows get trees of their own, the main pool's are its rows' alone
        List<Trainer.Fitted> fitted = trainer.train(rows, java.util.Set.of("h100-64gb"));
        assertThat(fitted)
                .extracting(Trainer.Fitted::target)
                .contains(
                        "served@llama-3.1-8b",
                        "slo@llama-3.1-8b",
                        "served@llama-3.1-8b+other-gpus",
                        "pool@llama-3.1-8b+other-gpus")
                .doesNotContain("pool@llama-3.1-8b");
        assertThat(fitted.stream()
                        .filter(f -> f.target().equals("served@llama-3.1-8b"))
                        .findFirst()
                        .orElseThrow()
                        .report()
                        .examples())
                .isEqualTo((int) Labels.served(
                                main.rows().stream().filter(SweepRow::fits).toList(), LOOSE)
                        .stream()
                        .count());
        // a load estimate per pool and tp of the other GPUs, and the model's own from its main grid's rows
        Map<String, double[]> load = trainer.load().perModel();
        assertThat(load)
                .containsKeys("llama-3.1-8b", LoadModel.configKey("llama-3.1-8b", "l40s", 1))
                .doesNotContainKey(LoadModel.configKey("llama-3.1-8b", "h100-64gb", 1));
        assertThat(LoadModel.fit(main.rows().stream().filter(SweepRow::fits).toList(), LOOSE)
                        .perModel())
                .containsOnlyKeys("llama-3.1-8b");

        Path model = dir.resolve("model");
        PlacementModel.write(
                model,
                fitted,
                List.of(main.provenance(), other.provenance()),
                Map.of("folds", 3, "slo", LOOSE, "load_model", load),
                "test",
                "unknown",
                rows);
        Planner planner = new Planner(PlacementModel.load(model));
        // every grid's pools are the planner's, the main grid's first
        assertThat(planner.trainingSpec().pools())
                .extracting(SweepSpec.PoolEntry::name)
                .containsExactly("h100-64gb", "l40s", "a100");
        assertThat(planner.trainedPoolFor("l40s")).isEqualTo("l40s");
        Planner.Request req = new Planner.Request(
                "llama-3.1-8b",
                64,
                new double[] {0.4, 0.1, 0.025},
                new int[] {8, 16, 32},
                223,
                196,
                1.0,
                null,
                Labels.Objective.COST,
                null);
        // no pools named: the main grid's
        assertThat(planner.plan(req).pool()).isEqualTo("h100-64gb");
        Planner.Plan onL40s = planner.plan(req.withPools(List.of("l40s")));
        assertThat(onL40s.pool()).isEqualTo("l40s");
        assertThat(onL40s.warnings()).anyMatch(w -> w.startsWith("l40s is one of the model's other GPUs"));
        assertThat(planner.plan(req).warnings()).noneMatch(w -> w.contains("other GPUs"));
        // and the twin runs it on that pool's GPU
        PlanTwin.Verification v =
                planner.twin().verify(onL40s, req, io.twinserve.twin.profile.Profiles.builtIn(), Path.of("."), LOOSE);
        assertThat(v.simulated().gpu()).isEqualTo("l40s");
    }
}
