package io.twinserve.twin.perf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Analytic and measured all-reduce models, and the interconnect spec that chooses between them. */
class AllReduceModelTest {
    private static final GpuProfile H100 = Profiles.builtIn().gpu("h100-sxm-80gb");
    private static final String HEADER = ",time_stats.all_reduce.min,time_stats.all_reduce.max,"
            + "time_stats.all_reduce.mean,time_stats.all_reduce.median,time_stats.all_reduce.std,rank,num_workers,size,"
            + "collective,devices_per_node,max_devices_per_node";

    /** A slice of Vidur's H100 pair-wise NVLink table (2 and 4 GPUs); see src/test/resources/vidur/README.md. */
    private static Path pairwise() throws Exception {
        return Path.of(AllReduceModelTest.class
                .getResource("/vidur/network/h100_pairwise_nvlink/all_reduce.csv")
                .toURI());
    }

    private static String row(int index, double medianMs, int workers, long size) {
        return index + ",0,0,0," + medianMs + ",0,0," + workers + "," + size + ",all_reduce," + workers + ",8";
    }

    @Test
    void analyticDefaultIsEightMicrosecondsPlusRingTrafficAtTheGpuInterconnectBandwidth() {
        AnalyticAllReduceModel m = AnalyticAllReduceModel.forGpu(H100);
        long bytes = 512L * 4096 * 2;
        assertThat(m.allReduceNs(bytes, 4)).isEqualTo(8_000 + 2.0 * 3 / 4 * bytes / 900e9 * 1e9);
        assertThat(m.allReduceNs(bytes, 2)).isCloseTo(8_000 + bytes / 900e9 * 1e9, within(1e-9));
        assertThat(m.allReduceNs(bytes, 1)).as("one GPU has nothing to reduce").isZero();
    }

    @Test
    void anAnalyticSpecReplacesWhatItGivesAndTakesTheRestFromTheGpuProfile() throws Exception {
        assertThat(AllReduceModel.of(null, H100, null)).isEqualTo(new AnalyticAllReduceModel(8_000, 900e9));
        assertThat(AllReduceModel.of(new InterconnectSpec.Analytic(null, null), H100, null))
                .isEqualTo(new AnalyticAllReduceModel(8_000, 900e9));
        assertThat(AllReduceModel.of(new InterconnectSpec.Analytic(20.0, null), H100, null))
                .isEqualTo(new AnalyticAllReduceModel(20_000, 900e9));
        assertThat(AllReduceModel.of(new InterconnectSpec.Analytic(null, 450.0), H100, null))
                .isEqualTo(new AnalyticAllReduceModel(8_000, 450e9));
    }

    @Test
    void theProfiledTableHitsItsMeasuredPointsExactlyAndInterpolatesLinearlyBetweenThem() throws Exception {
        ProfiledAllReduceModel m = ProfiledAllReduceModel.read(pairwise());
        // medians of the file's rows; size counts fp16 elements, so bytes are twice the size
        assertThat(m.allReduceNs(2 * 26_624L, 2)).isCloseTo(0.007e6, within(1e-6));
        assertThat(m.allReduceNs(2 * 34_816L, 2)).isCloseTo(0.028e6, within(1e-6));
        assertThat(m.allReduceNs(2 * 18_432L, 4)).isCloseTo(0.026e6, within(1e-6));
        assertThat(m.allReduceNs(2 * 67_108_864L, 4)).isCloseTo(2.063e6, within(1e-6));
        assertThat(m.allReduceNs(2 * 30_720L, 2))
                .as("half-way in bytes")
                .isCloseTo((0.007e6 + 0.028e6) / 2, within(1e-6));
        assertThat(m.allReduceNs(2 * 28_672L, 2))
                .as("a quarter of the way")
                .isCloseTo(0.007e6 + 0.021e6 / 4, within(1e-6));
        assertThat(m.gpuCounts()).containsExactly(2, 4);
    }

    @Test
    void belowTheSmallestBufferTheSmallestBuffersTimeHolds() throws Exception {
        ProfiledAllReduceModel m = ProfiledAllReduceModel.read(pairwise());
        assertThat(m.allReduceNs(0, 2)).isCloseTo(0.028e6, within(1e-6));
        assertThat(m.allReduceNs(1_000, 4)).isCloseTo(0.028e6, within(1e-6));
        assertThat(m.allReduceNs(1 << 30, 1)).isZero();
    }

    @Test
    void aboveTheLargestBufferTheTimeGrowsAlongTheTablesLastOctave() throws Exception {
        ProfiledAllReduceModel m = ProfiledAllReduceModel.read(pairwise());
        // 4 GPUs: 1.055 ms at 32 Mi elements, 2.063 ms at 64 Mi; the last single segment (2.068 -> 2.063 ms)
        // slopes downwards, which would make larger all-reduces faster
        long largest = 2 * 67_108_864L;
        double slope = (2.063e6 - 1.055e6) / (largest - 2 * 33_554_432L);
        assertThat(m.allReduceNs(2 * largest, 4)).isCloseTo(2.063e6 + slope * largest, within(1e-3));
        assertThat(m.allReduceNs(2 * largest, 4)).isGreaterThan(m.allReduceNs(largest, 4));
    }

    @Test
    void aTwoPointTableExtrapolatesWithItsOnlySegmentAndAveragesDuplicateSizes(@TempDir Path dir) throws Exception {
        Path table = dir.resolve("all_reduce.csv");
        Files.writeString(
                table,
                String.join("\n", HEADER, row(0, 0.010, 2, 1_000), row(1, 0.030, 2, 2_000), row(2, 0.050, 2, 2_000))
                        + "\n");
        ProfiledAllReduceModel m = ProfiledAllReduceModel.read(table);
        assertThat(m.allReduceNs(4_000, 2))
                .as("the duplicate rows average to 0.040 ms")
                .isCloseTo(40_000, within(1e-6));
        // 0.030 ms per 1,000 elements = 2,000 bytes past the last point
        assertThat(m.allReduceNs(6_000, 2)).isCloseTo(70_000, within(1e-6));
    }

    @Test
    void aGpuCountMissingFromTheTableIsAnErrorNamingTheFileAndTheCountsItHas() throws Exception {
        ProfiledAllReduceModel m = ProfiledAllReduceModel.read(pairwise());
        assertThatThrownBy(() -> m.allReduceNs(4_096, 8))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(pairwise().toString())
                .hasMessageContaining("no rows for 8 GPUs")
                .hasMessageContaining("num_workers [2, 4]");
        var llama70b = Profiles.builtIn().model("llama-3.1-70b");
        assertThatThrownBy(() -> new RooflinePerfModel(llama70b, H100, 8, RooflineParams.defaults(), m))
                .as("the roofline fails when built, not at its first step")
                .hasMessageContaining("no rows for 8 GPUs");
    }

    @Test
    void aMalformedTableIsAnErrorNamingTheFileAndTheLine(@TempDir Path dir) throws Exception {
        Path notANumber = dir.resolve("bad-number.csv");
        Files.writeString(
                notANumber,
                HEADER + "\n" + row(0, 0.01, 2, 2048) + "\n"
                        + row(1, 0.01, 2, 4096).replace(",0.01,", ",fast,") + "\n");
        assertThatThrownBy(() -> ProfiledAllReduceModel.read(notANumber))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining(notANumber + ":3:5")
                .hasMessageContaining("time_stats.all_reduce.median: expected a number, got 'fast'");

        Path shortRow = dir.resolve("short-row.csv");
        Files.writeString(shortRow, HEADER + "\n0,1,2\n");
        assertThatThrownBy(() -> ProfiledAllReduceModel.read(shortRow))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining(shortRow + ":2")
                .hasMessageContaining("expected 12 fields, got 3");

        Path otherTable = dir.resolve("mlp.csv");
        Files.writeString(otherTable, "num_tokens,time_stats.emb.median\n1,0.1\n");
        assertThatThrownBy(() -> ProfiledAllReduceModel.read(otherTable))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining(otherTable + ":1")
                .hasMessageContaining("not a Vidur all_reduce.csv: no column 'num_workers'");

        Path oneSize = dir.resolve("one-size.csv");
        Files.writeString(oneSize, HEADER + "\n" + row(0, 0.01, 2, 2048) + "\n");
        assertThatThrownBy(() -> ProfiledAllReduceModel.read(oneSize))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("fewer than two buffer sizes for num_workers 2");
    }

    @Test
    void aProfiledSpecReadsItsTableRelativeToTheBaseDirectory() throws Exception {
        Path table = pairwise();
        AllReduceModel m = AllReduceModel.of(
                new InterconnectSpec.Profiled(table.getFileName().toString()), H100, table.getParent());
        assertThat(m).isInstanceOf(ProfiledAllReduceModel.class);
        assertThat(m.allReduceNs(2 * 34_816L, 2)).isCloseTo(0.028e6, within(1e-6));
        assertThatThrownBy(
                        () -> AllReduceModel.of(new InterconnectSpec.Profiled("missing.csv"), H100, table.getParent()))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(((SpecException) e).keyPath()).isEqualTo("table"))
                .hasMessageContaining("missing.csv' does not exist");
    }

    @Test
    void interconnectSpecsAreReadFromYamlWithTheirKeysChecked() {
        Path file = Path.of("pool.yaml");
        assertThat(WorkloadSpecs.parse(
                        "type: analytic\nlatency_us: 5\nbandwidth_gb_per_s: 450\n", file, InterconnectSpec.class))
                .isEqualTo(new InterconnectSpec.Analytic(5.0, 450.0));
        assertThat(WorkloadSpecs.parse("type: profiled\ntable: all_reduce.csv\n", file, InterconnectSpec.class))
                .isEqualTo(new InterconnectSpec.Profiled("all_reduce.csv"));
        assertThatThrownBy(() ->
                        WorkloadSpecs.parse("type: analytic\nbandwidth_gb_per_s: 0\n", file, InterconnectSpec.class))
                .isInstanceOf(SpecException.class)
                .satisfies(e -> assertThat(((SpecException) e).keyPath()).isEqualTo("bandwidth_gb_per_s"))
                .hasMessageContaining("must be a finite number > 0, got 0.0");
        assertThatThrownBy(() -> WorkloadSpecs.parse("type: profiled\n", file, InterconnectSpec.class))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("table is required");
        assertThatThrownBy(() -> WorkloadSpecs.parse("type: measured\n", file, InterconnectSpec.class))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("expected one of analytic, profiled");
    }
}
