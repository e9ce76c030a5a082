package io.twinserve.twin.perf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The profiled model reads Vidur's real H100 tables and replaces the roofline's linear layers with them. */
class ProfiledPerfModelTest {
    /** Llama-2-7B as Vidur profiled it (its vocabulary of 32,768 is Vidur's). */
    private static final ModelProfile LLAMA2 =
            new ModelProfile("llama-2-7b", 32, 4096, 32, 32, 128, 11008, 32768, 4096, false, "bf16");

    private static Path table() throws Exception {
        return Path.of(ProfiledPerfModelTest.class
                .getResource("/vidur/h100/Llama-2-7b-hf/mlp_tp1.csv")
                .toURI());
    }

    @Test
    void readsTheRealH100TableAndInterpolatesBetweenTokenCounts() throws Exception {
        VidurMlpTable t = VidurMlpTable.read(table(), 1);
        assertThat(t.hiddenSize()).isEqualTo(4096);
        assertThat(t.intermediateSize()).isEqualTo(11008);
        // sums of the nine per-layer operators' medians in the file
        assertThat(t.layerMs(1)).isCloseTo(0.175, within(1e-9));
        assertThat(t.layerMs(512)).isCloseTo(0.3745, within(1e-9));
        // 4096 appears twice in the file: the two rows are averaged
        assertThat(t.layerMs(4096)).isCloseTo((2.592 + 2.6085) / 2, within(1e-9));
        double mid = t.layerMs(516);
        assertThat(mid).isBetween(Math.min(t.layerMs(512), t.layerMs(520)), Math.max(t.layerMs(512), t.layerMs(520)));
        assertThat(t.layerMs(8192)).isGreaterThan(t.layerMs(4096));
    }

    @Test
    void stepsCostTheMeasuredLayersPlusTheRooflineRest() throws Exception {
        GpuProfile gpu = Profiles.builtIn().gpu("h100-sxm-80gb");
        RooflinePerfModel roofline = new RooflinePerfModel(LLAMA2, gpu, 1, RooflineParams.defaults());
        VidurMlpTable t = VidurMlpTable.read(table(), 1);
        ProfiledPerfModel profiled = new ProfiledPerfModel(roofline, t, LLAMA2);
        StepShape decode = StepShape.decodeBatch(512, 100);
        double expected =
                roofline.stepNs(decode) - roofline.linearNs(512) + (32 * t.layerMs(512) + t.embeddingMs(512)) * 1e6;
        assertThat((double) profiled.stepNs(decode)).isCloseTo(expected, within(1.0));
        assertThat(profiled.stepNs(StepShape.decodeBatch(1024, 100))).isGreaterThan(profiled.stepNs(decode));
    }

    @Test
    void aTableForAnotherModelOrAMalformedFileIsRejectedWithTheReason(@TempDir Path dir) throws Exception {
        GpuProfile gpu = Profiles.builtIn().gpu("h100-sxm-80gb");
        ModelProfile llama3 = Profiles.builtIn().model("llama-3.1-8b");
        RooflinePerfModel roofline = new RooflinePerfModel(llama3, gpu, 1, RooflineParams.defaults());
        VidurMlpTable t = VidurMlpTable.read(table(), 1);
        assertThatThrownBy(() -> new ProfiledPerfModel(roofline, t, llama3))
                .hasMessageContaining("MLP size 11008")
                .hasMessageContaining("14336");
        Path bad = dir.resolve("mlp.csv");
        Files.writeString(bad, "a,b\n1,2\n");
        assertThatThrownBy(() -> VidurMlpTable.read(bad, 1))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("not a Vidur mlp.csv: no column 'num_tokens'");
        assertThatThrownBy(() -> VidurMlpTable.read(table(), 8))
                .isInstanceOf(TraceFormatException.class)
                .hasMessageContaining("fewer than two rows for tensor parallelism 8");
    }
}
