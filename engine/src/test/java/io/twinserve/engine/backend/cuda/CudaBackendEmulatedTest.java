package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The CUDA backend's forward pass on an emulated device ({@link EmulatedGpu}: each kernel's Java reference on
 * host memory) against the CPU backend: the cases of {@link CudaModelCheck}, every architecture with two adapters
 * over a mixed prefill step and decode steps. What this checks is the backend's orchestration (layout, metadata,
 * pointers, the order and arguments of the kernels); the kernels themselves meet their references on a GPU in
 * the GPU check, which runs the same cases on the device. The emulation does the CPU backend's fp32 arithmetic
 * over the same bf16 weights, adapters and KV cache, so the two agree to float rounding (about 3e-7 of the
 * largest logit when this was written); the gate is 1e-4, where a wrong offset, norm or scale shows (leaving the
 * adapters out gives 0.39). Uploads go through pinned staging buffers on a copy stream, which the emulation
 * applies only when something must see them, so a buffer reused too early fails here too (checked by skipping
 * the wait). On a GPU, ../shared/CUDA.md's gate is 2e-2.
 */
class CudaBackendEmulatedTest {
    private static final double GATE = 1e-4;

    @ParameterizedTest(name = "graph batch {0}")
    @ValueSource(ints = {0, 4})
    void everyArchitectureMatchesTheCpuBackendWithAdaptersOverMixedSteps(int graphBatch, @TempDir Path dir)
            throws Exception {
        List<EmulatedGpu> devices = new ArrayList<>();
        List<CudaModelCheck.Result> results = CudaModelCheck.run(
                dir,
                () -> {
                    EmulatedGpu g = new EmulatedGpu();
                    devices.add(g);
                    return g;
                },
                graphBatch,
                false);
        // four architectures and Llama with heads of 128, three steps each, bf16 and fp32 KV
        assertThat(results).hasSize(5 * 3 * 2);
        for (CudaModelCheck.Result r : results) {
            assertThat(r.nan()).as(r.toString()).isFalse();
            // the head-128 model's bf16 cache: a K or V value one fp32 ulp apart before rounding (the two backends
            // sum the projections in different orders) can round to bf16 values 2^-8 apart, and with 128-wide heads
            // enough of them do to move a logit by 1.3e-4 of the largest (the same with the row kernel alone)
            boolean roundingFlips =
                    r.model().startsWith("llama-head128") && !r.model().contains("fp32 KV");
            assertThat(r.relativeError()).as(r.toString()).isLessThanOrEqualTo(roundingFlips ? 10 * GATE : GATE);
        }
        // the head-128 model's prefill (bf16 KV) went through the tensor-core tiles, and only there
        assertThat(devices.stream().filter(g -> g.launches.contains("ts_prefill_attention")))
                .hasSize(1);
        for (EmulatedGpu g : devices) {
            assertThat(g.launches).contains("ts_lora_shrink", "ts_lora_expand", "ts_paged_attention");
            // weights and adapters went up through the pinned buffers on the copy stream, which the emulation
            // applies late: a staging buffer written again before its copy was done would show as a wrong logit
            assertThat(g.asyncCopies).isGreaterThan(0);
            // with graphs, each device's two decode steps (two sequences each) replay a graph, and nothing else does
            assertThat(g.replays).isEqualTo(graphBatch > 0 ? 2 : 0);
        }
    }

    /**
     * Logits back as bf16 (the default): each is the fp32 logit rounded to bf16, so the cases stay within the fp32
     * run's error plus half a bf16 step of the largest logit (at most 2^-8 of it), and the bytes copied out are half.
     */
    @Test
    void bf16LogitsAreTheFp32OnesRoundedAndHalfTheBytes(@TempDir Path dir) throws Exception {
        List<EmulatedGpu> f32Devices = new ArrayList<>();
        List<EmulatedGpu> bf16Devices = new ArrayList<>();
        List<CudaModelCheck.Result> f32 = CudaModelCheck.run(
                dir.resolve("f32"),
                () -> {
                    EmulatedGpu g = new EmulatedGpu();
                    f32Devices.add(g);
                    return g;
                },
                4,
                false);
        List<CudaModelCheck.Result> bf16 = CudaModelCheck.run(
                dir.resolve("bf16"),
                () -> {
                    EmulatedGpu g = new EmulatedGpu();
                    bf16Devices.add(g);
                    return g;
                },
                4,
                true);
        assertThat(bf16).hasSameSizeAs(f32);
        boolean anyMoved = false;
        for (int i = 0; i < f32.size(); i++) {
            CudaModelCheck.Result a = f32.get(i);
            CudaModelCheck.Result b = bf16.get(i);
            assertThat(b.nan()).as(b.toString()).isFalse();
            assertThat(b.relativeError()).as(b.toString()).isLessThanOrEqualTo(a.relativeError() + Math.scalb(1.0, -8));
            anyMoved |= b.relativeError() != a.relativeError();
        }
        // the rounding is there (a bf16 run that fell back to fp32 would match to the bit)
        assertThat(anyMoved).isTrue();
        long f32Bytes = f32Devices.stream().mapToLong(g -> g.copiedOutBytes).sum();
        long bf16Bytes = bf16Devices.stream().mapToLong(g -> g.copiedOutBytes).sum();
        assertThat(bf16Bytes * 2).isEqualTo(f32Bytes);
        assertThat(bf16Devices).allSatisfy(g -> assertThat(g.launches).contains("ts_to_bf16"));
    }

    @Test
    void theLogitsSwitchTakesBf16OrF32AndRefusesAnythingElseNamingTheVariable() {
        assertThat(CudaBackend.bf16LogitsFor(null)).isTrue();
        assertThat(CudaBackend.bf16LogitsFor(" ")).isTrue();
        assertThat(CudaBackend.bf16LogitsFor("bf16")).isTrue();
        assertThat(CudaBackend.bf16LogitsFor(" f32 ")).isFalse();
        assertThatThrownBy(() -> CudaBackend.bf16LogitsFor("fp16"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TWINSERVE_CUDA_LOGITS=fp16")
                .hasMessageContaining("expected bf16");
    }

    /**
     * Split-K attention forced onto the tiny models' short contexts (runs of at least 4 positions, so that each row
     * splits into up to 4 runs, some of them empty): the CPU backend's logits still, through the split and combine
     * kernels, launched directly and replayed in graphs.
     */
    @ParameterizedTest(name = "graph batch {0}")
    @ValueSource(ints = {0, 4})
    void splitKAttentionGivesTheCpuBackendsLogits(int graphBatch, @TempDir Path dir) throws Exception {
        List<EmulatedGpu> devices = new ArrayList<>();
        List<CudaModelCheck.Result> results = CudaModelCheck.run(
                dir,
                () -> {
                    EmulatedGpu g = new EmulatedGpu();
                    devices.add(g);
                    return g;
                },
                graphBatch,
                false,
                4);
        assertThat(results).hasSize(5 * 3 * 2);
        for (CudaModelCheck.Result r : results) {
            assertThat(r.nan()).as(r.toString()).isFalse();
            boolean roundingFlips =
                    r.model().startsWith("llama-head128") && !r.model().contains("fp32 KV");
            assertThat(r.relativeError()).as(r.toString()).isLessThanOrEqualTo(roundingFlips ? 10 * GATE : GATE);
        }
        for (EmulatedGpu g : devices) {
            assertThat(g.launches).contains("ts_paged_attention_split", "ts_attention_combine");
            // every attention of these steps split: none went through the one-block-per-row kernel
            assertThat(g.launches).doesNotContain("ts_paged_attention");
        }
    }

    /**
     * A token id outside the vocabulary is refused before anything runs, as the CPU backend refuses it: on a GPU the
     * embedding gather would read past its table (another tensor's bytes, or an illegal address that poisons the
     * context).
     */
    @Test
    void aTokenIdOutsideTheVocabularyIsRefusedBeforeAnyLaunch(@TempDir Path dir) throws Exception {
        ModelConfig config =
                RandomModel.config(Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 80, DType.BF16, false, 1, List.of(2));
        Path base = dir.resolve("model");
        RandomModel.write(new RandomModel.Spec(config, 41, 1), base);
        EmulatedGpu gpu = new EmulatedGpu();
        try (ModelFiles files = ModelFiles.open(base);
                CudaBackend backend = new CudaBackend(files, new CudaBackend.Options(64, 4, 0, 8), gpu)) {
            for (int id : new int[] {80, -1}) {
                ForwardBatch b = new ForwardBatch();
                b.add(new int[] {3, id}, 0, 2, 0, -1, new int[] {0, 1}, 1, true);
                int rows = b.assignLogitRows();
                int before = gpu.launches.size();
                assertThatThrownBy(() -> backend.forward(b, new float[rows * config.vocabSize()]))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessage("token id " + id + " is outside the vocabulary of 80");
                assertThat(gpu.launches).hasSize(before);
            }
        }
    }

    @Test
    void theSplitKSwitchTakes0Or1AndRefusesAnythingElseNamingTheVariable() {
        assertThat(CudaBackend.splitKFor(null)).isTrue();
        assertThat(CudaBackend.splitKFor("1")).isTrue();
        assertThat(CudaBackend.splitKFor(" 0")).isFalse();
        assertThatThrownBy(() -> CudaBackend.splitKFor("on"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("TWINSERVE_CUDA_SPLIT_K=on")
                .hasMessageContaining("expected 1");
    }

    /**
     * The split policy: few rows over long contexts split up to the target's blocks, one split per 256 positions at
     * most; a batch that fills half the target, or a context under two runs, does not split.
     */
    @Test
    void attentionSplitsFillTheGpuOnlyWhereRowsAreFewAndContextsLong() {
        int min = CudaKernels.MIN_SPLIT_POSITIONS;
        // batch 1, 8 KV heads (Llama 3 8B): 8 blocks; context 1,024 gives 4 runs of 256, 6,144 gives 24, 8,192 the
        // cap of 32 (the target would take 33)
        assertThat(CudaKernels.attentionSplits(1, 8, 1024, min)).isEqualTo(4);
        assertThat(CudaKernels.attentionSplits(1, 8, 6144, min)).isEqualTo(24);
        assertThat(CudaKernels.attentionSplits(1, 8, 8192, min)).isEqualTo(32);
        // batch 8: 64 blocks, ceil(264 / 64) = 5 splits
        assertThat(CudaKernels.attentionSplits(8, 8, 8192, min)).isEqualTo(5);
        // batch 17 x 8 heads: 136 blocks, half the target already
        assertThat(CudaKernels.attentionSplits(17, 8, 8192, min)).isEqualTo(1);
        assertThat(CudaKernels.attentionSplits(64, 8, 8192, min)).isEqualTo(1);
        // a context under two runs
        assertThat(CudaKernels.attentionSplits(1, 8, 511, min)).isEqualTo(1);
        // capped at MAX_SPLITS however long the context
        assertThat(CudaKernels.attentionSplits(1, 1, 1 << 20, min)).isEqualTo(CudaKernels.MAX_SPLITS);
        // 2 KV heads over 1,024 positions and runs of 4: the target's ceil(264 / 2) capped at 32
        assertThat(CudaKernels.attentionSplits(1, 2, 1024, 4)).isEqualTo(32);
    }
}
