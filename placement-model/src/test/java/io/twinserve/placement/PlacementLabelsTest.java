package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.spec.SloSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

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
}
