package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.bench.BenchModel;
import io.twinserve.engine.bench.CudaEngineBenchmark;
import io.twinserve.engine.model.ModelConfig;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The GPU benchmark of issue 21 on the emulated device: a model the device fills with random weights (no file),
 * random adapters put into slots on the device, and the benchmark's figures (which shapes it runs, with graphs,
 * and the bytes and FLOPs its fractions are stated against).
 */
class CudaEngineBenchmarkTest {
    private static final BenchModel TINY = BenchModel.tiny();

    private static float[] step(CudaBackend backend, int slotOfSecond) {
        ModelConfig c = backend.config();
        ForwardBatch b = new ForwardBatch();
        b.add(new int[] {5, 9, 11}, 0, 3, 0, -1, new int[] {0}, 1, true);
        b.add(new int[] {7, 3, 2}, 0, 3, 0, slotOfSecond, new int[] {1}, 1, true);
        float[] logits = new float[2 * c.vocabSize()];
        backend.forward(b, logits);
        return logits;
    }

    private static CudaBackend random(long seed, int slots) {
        return CudaBackend.random(TINY.config(), seed, new CudaBackend.Options(64, 16, slots, 8), new EmulatedGpu());
    }

    @Test
    void aRandomModelIsFilledOnTheDeviceFromItsSeedAlone() {
        float[] a;
        float[] again;
        float[] other;
        try (CudaBackend x = random(3, 0);
                CudaBackend y = random(3, 0);
                CudaBackend z = random(4, 0)) {
            a = step(x, -1);
            again = step(y, -1);
            other = step(z, -1);
        }
        assertThat(a).containsExactly(again);
        assertThat(a).isNotEqualTo(other);
        for (float v : a) {
            assertThat(Float.isFinite(v)).isTrue();
        }
        // the two sequences' prompts differ, so do their rows
        int vocab = TINY.vocab();
        assertThat(java.util.Arrays.copyOfRange(a, 0, vocab))
                .isNotEqualTo(java.util.Arrays.copyOfRange(a, vocab, 2 * vocab));
    }

    @Test
    void aRandomAdapterChangesOnlyTheRowsOfTheSequencesThatUseIt() {
        int vocab = TINY.vocab();
        try (CudaBackend backend = random(3, 2)) {
            float[] base = step(backend, -1);
            backend.loadRandomAdapter(1, "r", 4, 77);
            float[] adapted = step(backend, 1);
            assertThat(java.util.Arrays.copyOfRange(adapted, 0, vocab))
                    .containsExactly(java.util.Arrays.copyOfRange(base, 0, vocab));
            assertThat(java.util.Arrays.copyOfRange(adapted, vocab, 2 * vocab))
                    .isNotEqualTo(java.util.Arrays.copyOfRange(base, vocab, 2 * vocab));
            assertThatThrownBy(() -> backend.loadRandomAdapter(0, "big", 9, 1))
                    .hasMessageContaining("adapter big has rank 9, outside 1 to the slots' max_lora_rank 8");
            assertThatThrownBy(() -> backend.loadRandomAdapter(2, "x", 4, 1))
                    .hasMessageContaining("adapter slot 2 does not exist; there are 2");
        }
    }

    @Test
    void theBenchmarkRunsIssue21sShapesWithGraphsAndStatesEachAgainstItsCeiling() {
        CudaEngineBenchmark.Options o = CudaEngineBenchmark.Options.quick(TINY, 1);
        List<String> stages = new ArrayList<>();
        CudaEngineBenchmark.Result r = CudaEngineBenchmark.run(o, () -> new EmulatedGpu(true), stages::add);
        assertThat(r.figures())
                .extracting(CudaEngineBenchmark.Figure::name)
                .containsExactly(
                        "decode batch 1, graphs off",
                        "decode batch 1",
                        "decode batch 3",
                        "prefill 24",
                        "batch 4, 0 distinct adapters",
                        "batch 4, 1 distinct adapters",
                        "batch 4, 2 distinct adapters");
        assertThat(stages).first().isEqualTo("device ceilings");
        assertThat(r.ceilings().readBytesPerSecond()).isPositive();
        assertThat(r.ceilings().copyBytesPerSecond()).isPositive();
        assertThat(r.gemmFlopsPerSecond()).isPositive();
        // the graphs-on decode steps at batch <= 4 replayed graphs
        assertThat(r.graphSteps()).isPositive();
        // no bucket above the GEMV's 8 sequences here, so no graph captured cuBLAS
        assertThat(r.gemmGraphs()).isZero();
        // the tiny model's heads are not 128 wide: its prefill takes the row kernel
        assertThat(r.flashPrefill()).isFalse();
        // every step's logits came back as bf16, the default
        assertThat(r.logitsDtype()).isEqualTo("bf16");
        // steps without adapters ran the gate/up GEMV with the SiLU-mul fused, the default
        assertThat(r.fusedSilu()).isTrue();
        // and every row was drawn on the device: only tokens came back
        assertThat(r.deviceDraws()).isTrue();
        // ... inside the graph, in every graph-replayed decode step
        assertThat(r.graphDrawSteps()).isEqualTo(r.graphSteps());
        // the emulated device here has cuBLAS (its reference): prefill's linear layers took it
        assertThat(r.prefillLinear()).isEqualTo("cublas");
        ModelConfig c = TINY.config();
        for (CudaEngineBenchmark.Figure f : r.figures()) {
            assertThat(f.stepMsMedian()).as(f.name()).isPositive();
            assertThat(f.tokensPerSecond())
                    .as(f.name())
                    .isCloseTo(f.batch() * f.tokensPerSequence() / (f.stepMsMedian() / 1e3), within(1e-6));
            switch (f.kind()) {
                case "decode", "adapters" -> {
                    // tied embeddings: every parameter is read; K and V of 41 positions per layer per sequence
                    double kv = 2.0 * 2 * c.numLayers() * c.kvDim() * 41 * f.batch();
                    double adapter = f.adapters()
                            * 2.0
                            * c.numLayers()
                            * 4
                            * (7.0 * c.hiddenSize() + c.qDim() * 2 + 2.0 * c.kvDim() + 3.0 * c.intermediateSize());
                    assertThat(f.bytes()).as(f.name()).isEqualTo(2.0 * c.parameters() + kv + adapter);
                    double rate = f.bytes() / (f.stepMsMedian() / 1e3);
                    assertThat(f.ofCopy()).isCloseTo(rate / r.ceilings().copyBytesPerSecond(), within(1e-9));
                    assertThat(f.ofRead()).isCloseTo(rate / r.ceilings().readBytesPerSecond(), within(1e-9));
                    assertThat(f.ofGemm()).isNaN();
                }
                case "prefill" -> {
                    double perLayer = c.hiddenSize() * (2.0 * c.qDim() + 2.0 * c.kvDim() + 3.0 * c.intermediateSize());
                    double flops = 2 * perLayer * c.numLayers() * 24
                            + 4.0 * c.headDim() * c.numHeads() * (24 * 25 / 2.0) * c.numLayers()
                            + 2.0 * c.hiddenSize() * c.vocabSize();
                    assertThat(f.flops()).isCloseTo(flops, within(1e-6));
                    assertThat(f.ofGemm())
                            .isCloseTo(flops / (f.stepMsMedian() / 1e3) / r.gemmFlopsPerSecond(), within(1e-9));
                    assertThat(f.ofCopy()).isNaN();
                }
                default -> throw new AssertionError(f.kind());
            }
        }
        assertThat(r.figures().get(4).ratioToNoAdapters()).isEqualTo(1.0);
        assertThat(r.figures().get(6).ratioToNoAdapters()).isPositive();
        assertThat(r.figures().get(0).graphs()).isFalse();
        assertThat(r.figures().get(1).graphs()).isTrue();
    }

    @Test
    void withoutCublasThePrefillFiguresHaveNoGemmFraction() {
        CudaEngineBenchmark.Result r =
                CudaEngineBenchmark.run(CudaEngineBenchmark.Options.quick(TINY, 1), EmulatedGpu::new, s -> {});
        assertThat(r.gemmFlopsPerSecond()).isNaN();
        assertThat(r.figures().get(3).ofGemm()).isNaN();
    }

    @Test
    void badOptionsNameWhatIsWrong() {
        assertThatThrownBy(() -> new CudaEngineBenchmark.Options(
                        TINY, 1, 40, List.of(1), List.of(24), 4, List.of(0, 5), 4, 4, 1, 2, 1 << 16, 2, 16))
                .hasMessageContaining("adapter counts 0 to the adapter batch 4, got [24] and [0, 5]");
        assertThatThrownBy(() -> new CudaEngineBenchmark.Options(
                        TINY, 1, 40, List.of(), List.of(24), 4, List.of(0), 4, 4, 1, 2, 1 << 16, 2, 16))
                .hasMessageContaining("decode batches must be >= 1, got []");
    }
}
