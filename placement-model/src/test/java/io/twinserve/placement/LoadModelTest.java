package io.twinserve.placement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The load estimate behind the adapter_load and offered_load features. */
class LoadModelTest {
    @Test
    void recoversTheCostsOfPromptAndOutputTokensAndKeepsThemNonNegative() {
        // 1/optimum = r (P a + O b) exactly, for a = 1e-4 and b = 3e-4
        List<double[]> exact = List.of(
                new double[] {0.1 * 200, 0.1 * 200, 0.1 * (200e-4 + 600e-4)},
                new double[] {0.05 * 2000, 0.05 * 30, 0.05 * (2000e-4 + 90e-4)},
                new double[] {0.4 * 100, 0.4 * 300, 0.4 * (100e-4 + 900e-4)});
        double[] c = LoadModel.nonNegative(exact);
        assertThat(c[0]).isCloseTo(1e-4, within(1e-9));
        assertThat(c[1]).isCloseTo(3e-4, within(1e-9));
        // points that pull one coefficient below zero: the fit with the other alone
        List<double[]> skewed = List.of(new double[] {1, 10, 1}, new double[] {2, 10, 0.5}, new double[] {4, 10, 0.25});
        double[] d = LoadModel.nonNegative(skewed);
        assertThat(d[0]).isGreaterThanOrEqualTo(0);
        assertThat(d[1]).isGreaterThanOrEqualTo(0);
        assertThat(d[0] == 0 || d[1] == 0).isTrue();
    }

    @Test
    void anAdaptersLoadIsItsRateTimesItsTokensCostsAndAStoredModelReadsBack() {
        LoadModel m = LoadModel.of(Map.of("llama-3.1-8b", List.of(1e-4, 2e-4)));
        WorkloadFeatures w = new WorkloadFeatures(
                "llama-3.1-8b",
                "h100-64gb",
                96,
                new double[] {0.3, 0.2, 0.1},
                new int[] {8, 16, 32},
                200,
                100,
                1,
                32,
                1,
                0,
                0);
        assertThat(m.adapterLoad(w)).isCloseTo(0.2 * (200e-4 + 100 * 2e-4), within(1e-12));
        // the features: adapter_load, and offered_load = served x it
        List<String> names = Features.CONFIGURED.numericNames();
        double[] v = Features.CONFIGURED.numeric(w, m);
        assertThat(v[names.indexOf("adapter_load")]).isEqualTo(m.adapterLoad(w));
        assertThat(v[names.indexOf("offered_load")]).isCloseTo(96 * m.adapterLoad(w), within(1e-12));
        // a model it was not fitted for, or none stored: 0, which a model trained before the features never reads
        assertThat(m.adapterLoad(new WorkloadFeatures(
                        "qwen2.5-7b",
                        "h100-64gb",
                        96,
                        new double[] {0.3, 0.2, 0.1},
                        new int[] {8, 16, 32},
                        200,
                        100,
                        1,
                        32,
                        1,
                        0,
                        0)))
                .isZero();
        assertThat(LoadModel.of(null)).isEqualTo(LoadModel.NONE);
    }

    @Test
    void aConfigurationsOwnEstimateComesFirstAndTheModelsStandsForTheRest() {
        LoadModel m = LoadModel.of(Map.of(
                "llama-3.1-8b",
                List.of(1e-4, 2e-4),
                LoadModel.configKey("llama-3.1-8b", "l40s", 1),
                List.of(3e-4, 6e-4)));
        WorkloadFeatures h100 = new WorkloadFeatures(
                "llama-3.1-8b",
                "h100-64gb",
                96,
                new double[] {0.3, 0.2, 0.1},
                new int[] {8, 16, 32},
                200,
                100,
                1,
                32,
                1,
                0,
                0);
        WorkloadFeatures l40s = h100.withPlacement("l40s", 1, 0);
        assertThat(m.adapterLoad(h100)).isCloseTo(0.2 * (200e-4 + 100 * 2e-4), within(1e-12));
        assertThat(m.adapterLoad(l40s)).isCloseTo(3 * m.adapterLoad(h100), within(1e-12));
        // the same GPU at another tp has no estimate of its own: the model's
        assertThat(m.adapterLoad(h100.withPlacement("l40s", 2, 0))).isEqualTo(m.adapterLoad(h100));
    }
}
