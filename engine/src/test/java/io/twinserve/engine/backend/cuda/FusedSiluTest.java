package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gate/up GEMV with the SiLU-mul in its epilogue ({@code ts_gemv_silu_bf16}, issue 21's fused epilogues), on the
 * emulated device: a step without adapters runs it instead of {@code ts_gemv_bf16} and {@code ts_silu_mul}, one with
 * adapters (whose deltas go in before the silu) runs the two apart, and the logits are those of the two kernels; and
 * TWINSERVE_CUDA_FUSED_SILU's values.
 */
class FusedSiluTest {
    private static final ModelConfig CONFIG =
            RandomModel.config(Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 80, DType.BF16, false, 1, List.of(2));
    private static final int BLOCK = 4;
    private static final int BLOCKS = 16;

    @Test
    void onUnlessSwitchedOffAndAnyOtherValueIsRefused() {
        assertThat(CudaBackend.fusedSiluFor(null)).isTrue();
        assertThat(CudaBackend.fusedSiluFor(" 1 ")).isTrue();
        assertThat(CudaBackend.fusedSiluFor("0")).isFalse();
        assertThatThrownBy(() -> CudaBackend.fusedSiluFor("on"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("TWINSERVE_CUDA_FUSED_SILU=on: expected 1 (the SiLU-mul in the gate/up GEMV's epilogue)"
                        + " or 0 (the gate/up GEMV and the SiLU-mul apart)");
    }

    @Test
    void stepsWithoutAdaptersFuseAndGiveTheLogitsOfTheTwoKernels(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("model");
        RandomModel.write(new RandomModel.Spec(CONFIG, 31, 1), base);
        Path a8 = dir.resolve("a8");
        RandomModel.writeAdapter(base, 8, 16, List.of(Projection.values()), 32, DType.BF16, a8);
        EmulatedGpu fusedGpu = new EmulatedGpu();
        EmulatedGpu apartGpu = new EmulatedGpu();
        long kv = 3L * BLOCKS * BLOCK;
        try (ModelFiles files = ModelFiles.open(base);
                CudaBackend fused = new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 1, 8), fusedGpu);
                CudaBackend apart = new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 1, 8), apartGpu)) {
            fused.fusedSilu(true);
            apart.fusedSilu(false);
            LoraAdapter adapter = LoraAdapter.load("a0", a8, CONFIG);
            fused.loadAdapter(0, adapter);
            apart.loadAdapter(0, adapter);
            // a prefill of 11 tokens without an adapter (the GEMV takes 8 tokens a launch: two fused launches a layer),
            // one with the adapter (apart), then decodes without and with it
            int[] prompt = {3, 9, 27, 1, 40, 2, 17, 5, 66, 8, 12};
            int layers = CONFIG.numLayers();
            ForwardBatch prefill = new ForwardBatch();
            prefill.add(prompt, 0, prompt.length, 0, -1, blocks(0), blocksFor(prompt.length), true);
            step(prefill, fused, apart, fusedGpu, 2 * layers, 0);
            ForwardBatch adapterPrefill = new ForwardBatch();
            adapterPrefill.add(new int[] {4, 5}, 0, 2, 0, 0, blocks(1), 1, true);
            step(adapterPrefill, fused, apart, fusedGpu, 0, layers);
            ForwardBatch noAdapter = new ForwardBatch();
            noAdapter.add(new int[] {7}, 0, 1, prompt.length, -1, blocks(0), blocksFor(prompt.length + 1), true);
            step(noAdapter, fused, apart, fusedGpu, layers, 0);
            ForwardBatch withAdapter = new ForwardBatch();
            withAdapter.add(new int[] {7}, 0, 1, prompt.length + 1, -1, blocks(0), blocksFor(prompt.length + 2), true);
            withAdapter.add(new int[] {6}, 0, 1, 2, 0, blocks(1), 1, true);
            step(withAdapter, fused, apart, fusedGpu, 0, layers);
            assertThat(apartGpu.launches).doesNotContain("ts_gemv_silu_bf16");
            // what an engine profile records of each (its timings depend on it)
            assertThat(fused.fastPaths())
                    .containsEntry("fused_silu", true)
                    .containsKeys("graph_batch", "prefill_linear");
            assertThat(apart.fastPaths()).containsEntry("fused_silu", false);
        }
    }

    /** Runs {@code b} on both; checks their logits agree and what the fused one launched per layer. */
    private static void step(
            ForwardBatch b, CudaBackend fused, CudaBackend apart, EmulatedGpu fusedGpu, int fusedLaunches, int silus) {
        int rows = b.assignLogitRows();
        float[] expected = new float[rows * CONFIG.vocabSize()];
        float[] actual = new float[rows * CONFIG.vocabSize()];
        Arrays.fill(actual, Float.NaN);
        apart.forward(b, expected);
        int from = fusedGpu.launches.size();
        fused.forward(b, actual);
        List<String> launched = fusedGpu.launches.subList(from, fusedGpu.launches.size());
        assertThat(actual).containsExactly(expected);
        assertThat(launched.stream().filter("ts_gemv_silu_bf16"::equals).count())
                .isEqualTo(fusedLaunches);
        assertThat(launched.stream().filter("ts_silu_mul"::equals).count()).isEqualTo(silus);
    }

    private static int[] blocks(int sequence) {
        int[] blocks = new int[BLOCKS];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = sequence * BLOCKS + i;
        }
        return blocks;
    }

    private static int blocksFor(int tokens) {
        return (tokens + BLOCK - 1) / BLOCK;
    }
}
