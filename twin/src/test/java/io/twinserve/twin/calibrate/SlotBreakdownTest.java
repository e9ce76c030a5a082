package io.twinserve.twin.calibrate;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class SlotBreakdownTest {

    private static FitRow row(String family, int slots, String quantity, double measured, double predicted) {
        return new FitRow(
                family,
                "scheduler_overhead.csv",
                "llama",
                "per_adapter_rate max_loras=" + slots + " served=64 rate=1",
                quantity,
                measured,
                predicted,
                (predicted - measured) / measured * 100);
    }

    @Test
    void completedRatesAreTotalledAndItlErrorsAveragedPerSlotCount() {
        String over = "poisson_runs_overloaded_simulated";
        List<FitRow> rows = List.of(
                row(over, 64, "completed_requests_per_s", 10, 12),
                row(over, 64, "completed_requests_per_s", 30, 28),
                row(over, 8, "completed_requests_per_s", 4, 3),
                row(over, 64, "mean_itl_ms", 100, 110),
                row(over, 64, "mean_itl_ms", 100, 70),
                row("poisson_runs_keeping_up_simulated", 8, "mean_itl_ms", 20, 21),
                row("lora_bursts", 300, "mean_itl_ms", 1, 2));
        List<SlotBreakdown> b = SlotBreakdown.of(rows, "poisson_runs_");
        assertThat(b).extracting(SlotBreakdown::family).containsExactly(over, "poisson_runs_keeping_up_simulated");
        SlotBreakdown o = b.get(0);
        assertThat(o.slots()).containsExactly(8, 64);
        assertThat(o.completedTotalPct().get(0)).isCloseTo(-25, within(1e-9));
        assertThat(o.completedTotalPct().get(1)).as("(12 + 28) / (10 + 30) - 1").isCloseTo(0, within(1e-9));
        assertThat(o.itlMeanSignedPct().get(0)).isNaN();
        assertThat(o.itlMeanSignedPct().get(1)).as("(+10% - 30%) / 2").isCloseTo(-10, within(1e-9));
        SlotBreakdown k = b.get(1);
        assertThat(k.completedTotalPct().get(0)).isNaN();
        assertThat(k.itlMeanSignedPct().get(0)).isCloseTo(5, within(1e-9));
    }
}
