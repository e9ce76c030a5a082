package io.twinserve.twin.calibrate;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Runs the calibration of the committed vLLM 0.8.5 H100-64GB measurements once and checks every
 * reproduced row, and that the shipped calibration files are exactly what the command fits.
 */
class CalibratorTest {
    /** The committed measurement set, relative to the twin module (surefire's working directory). */
    private static final Path FOLDER = Path.of("../calibration/vllm-0.8.5-h100-64gb");

    private static final String KV = "kv_capacity_tokens.csv";

    private static Calibrator.Result result;

    @BeforeAll
    static void calibrate() throws IOException {
        result = Calibrator.forFolder(FOLDER, Profiles.builtIn()).run();
    }

    private static List<FitRow> rows(String file) {
        return result.rows().stream().filter(r -> r.file().equals(file)).toList();
    }

    @Test
    void everyMeasuredRowIsReproduced() throws IOException {
        // data rows of each file and the figures the calibration reproduces per row
        // (the bursts: the step-level row, then the run replayed in full: two figures)
        Map<String, Integer> perRow = Map.of(
                KV,
                1,
                "adapter_load_cpu_to_gpu_ms.csv",
                1,
                "decode_itl_vs_batch_no_lora.csv",
                1,
                "decode_bursts_no_lora.csv",
                3,
                "prefill_bursts_no_lora.csv",
                3,
                // disk-load time, step-level ITL, then the replayed run's duration and ITL
                "adapter_load_runs.csv",
                4,
                // step-level mean ITL, then the simulated run's mean ITL and throughput
                "lora_overhead_vs_distinct_adapters.csv",
                3,
                // mean ITL and the scheduler's time per step
                "scheduler_overhead.csv",
                2);
        for (Map.Entry<String, Integer> e : perRow.entrySet()) {
            List<String> lines = Files.readAllLines(FOLDER.resolve("data").resolve(e.getKey())).stream()
                    .filter(l -> !l.isBlank())
                    .toList();
            assertThat(rows(e.getKey())).as(e.getKey()).hasSize((lines.size() - 1) * e.getValue());
        }
        // runs that failed or started without a result have nothing to reproduce: every other row is there
        assertThat(rows("lora_overhead_bursts.csv")).hasSize(3 * 64);
        // started runs: mean ITL and TTFT each, step-level and replayed
        assertThat(rows("lora_slots_single_request.csv")).hasSize(4 * 63);
    }

    @Test
    void everyTimingFamilyIsCheckedByLeavingItOut() {
        for (Calibration c : result.calibrations()) {
            List<String> families = new ArrayList<>();
            c.fit().get("leave_one_family_out").forEach(f -> {
                families.add(f.get("family").asText());
                assertThat(f.get("mean_abs_error_pct").asDouble())
                        .as("%s %s", c.name(), f)
                        .isFinite()
                        .isNotNegative();
            });
            assertThat(families)
                    .as(c.name())
                    .contains(
                            "decode_bursts",
                            "lora_bursts",
                            "lora_vs_distinct_adapters",
                            "lone_request_itl",
                            "prefill_bursts");
        }
    }

    @Test
    void everyKvCapacityIsWithinTwoPercent() {
        List<FitRow> kv = rows(KV).stream()
                .filter(r -> r.quantity().equals("kv_cache_tokens"))
                .toList();
        assertThat(kv).hasSizeGreaterThan(60);
        assertThat(kv)
                .allSatisfy(r -> assertThat(Math.abs(r.errorPct()))
                        .as("%s %s", r.model(), r.row())
                        .isLessThanOrEqualTo(2.0));
    }

    @Test
    void everyStartFailureIsPredicted() {
        List<FitRow> fails = rows(KV).stream()
                .filter(r -> r.quantity().equals("fails_to_start"))
                .toList();
        assertThat(fails).as("the data holds configurations that did not start").hasSizeGreaterThan(10);
        assertThat(fails).allSatisfy(r -> {
            assertThat(r.errorPct()).as("%s %s", r.model(), r.row()).isZero();
            assertThat(r.predicted()).isEqualTo(1);
        });
        assertThat(rows(KV)).extracting(FitRow::quantity).containsOnly("kv_cache_tokens", "fails_to_start");
    }

    @Test
    void theWellMeasuredFamiliesStayWithinTheirShippedErrors() {
        // guards of what this calibration achieves (docs/calibration.md lists every family, those that miss too)
        assertThat(rows("adapter_load_cpu_to_gpu_ms.csv"))
                .allSatisfy(r -> assertThat(Math.abs(r.errorPct()))
                        .as("%s %s", r.model(), r.row())
                        .isLessThanOrEqualTo(5.0));
        Map<String, Double> meanBound = Map.of(
                "lora_bursts",
                3.0,
                "lora_vs_distinct_adapters",
                3.0,
                "lora_vs_distinct_adapters_simulated",
                3.0,
                "lone_request_itl",
                3.0,
                "decode_bursts",
                5.0,
                "decode_itl_vs_batch",
                5.0,
                "lora_bursts_simulated",
                4.0,
                "decode_bursts_simulated",
                6.0,
                "adapter_runs_itl",
                2.0);
        for (String model : List.of("llama-3.1-8b-instruct", "qwen-2.5-7b-instruct")) {
            for (Map.Entry<String, Double> e : meanBound.entrySet()) {
                double mean = result.rows().stream()
                        .filter(r -> r.model().equals(model) && r.family().equals(e.getKey()))
                        .mapToDouble(r -> Math.abs(r.errorPct()))
                        .average()
                        .orElseThrow();
                assertThat(mean).as("%s %s", model, e.getKey()).isLessThanOrEqualTo(e.getValue());
            }
        }
    }

    @Test
    void theBlockedQueueTermHalvesTheSchedulerTimeError() {
        double mean = result.rows().stream()
                .filter(r -> r.family().equals("scheduler_overhead_time"))
                .mapToDouble(r -> Math.abs(r.errorPct()))
                .average()
                .orElseThrow();
        assertThat(mean).isLessThan(11.0);
    }

    @Test
    void theShippedCalibrationsEqualTheFreshlyFittedParameters() throws IOException {
        Map<String, Calibration> fitted =
                result.calibrations().stream().collect(Collectors.toMap(Calibration::name, c -> c));
        assertThat(fitted.keySet()).containsExactlyInAnyOrderElementsOf(Deployments.builtInCalibrations());
        for (String name : Deployments.builtInCalibrations()) {
            Calibration shipped = Deployments.calibration(name);
            Calibration fresh = fitted.get(name);
            assertThat(shipped.name()).isEqualTo(name);
            assertThat(shipped.gpu()).isEqualTo(fresh.gpu()).isEqualTo("h100-64gb");
            assertThat(shipped.model()).isEqualTo(fresh.model());
            assertThat(shipped.engine()).isEqualTo(fresh.engine());
            assertThat(shipped.memory())
                    .as("%s memory; re-run twinserve calibrate", name)
                    .isEqualTo(fresh.memory());
            assertThat(shipped.roofline())
                    .as("%s roofline; re-run twinserve calibrate", name)
                    .isEqualTo(fresh.roofline());
            assertThat(shipped.fit().get("rows").size())
                    .isEqualTo(fresh.fit().get("rows").size());
            assertThat(shipped.fit().get("worst").asText())
                    .isEqualTo(fresh.fit().get("worst").asText());
        }
    }

    @Test
    void expectedDistinctAdaptersFollowsUniformDraws() {
        assertThat(TimingRows.expectedDistinct(1, 220)).isEqualTo(1.0);
        // 2 adapters, 2 draws: 1 + 1/2 distinct on average
        assertThat(TimingRows.expectedDistinct(2, 2)).isCloseTo(1.5, Offset.offset(1e-12));
        assertThat(TimingRows.expectedDistinct(64, 220)).isBetween(60.0, 64.0);
    }

    @Test
    void leastSquaresDropsNegativeCoefficientsAndRefits() {
        // y = 2 + 3x exactly
        List<double[]> x = List.of(new double[] {1, 0}, new double[] {1, 1}, new double[] {1, 2});
        assertThat(LeastSquares.fitNonNegative(x, List.of(2.0, 5.0, 8.0)))
                .containsExactly(new double[] {2, 3}, Offset.offset(1e-9));
        // y = 6 - x: the slope would be negative, so it is dropped and the mean remains
        assertThat(LeastSquares.fitNonNegative(x, List.of(6.0, 5.0, 4.0)))
                .containsExactly(new double[] {5, 0}, Offset.offset(1e-9));
        assertThat(LeastSquares.fit(x, List.of(6.0, 5.0, 4.0)))
                .containsExactly(new double[] {6, -1}, Offset.offset(1e-9));
    }
}
