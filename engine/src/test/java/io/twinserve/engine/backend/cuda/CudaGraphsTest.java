package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Decode steps as CUDA graphs (issue 21), on the emulated device: a graph records its launches at capture and runs
 * them at replay with the arguments they had, so a step whose metadata layout or pointers moved since its capture
 * would read the wrong memory here as on a GPU. Checked: the graphs give exactly the logits of launching every
 * kernel, across buckets, block-table widths, adapters or none, and steps above the graph batch; and a decode step
 * of a captured shape is one metadata copy and one graph launch, with no kernel launched directly.
 */
class CudaGraphsTest {
    /** The tiny Llama both model tests write (their seeds differ). */
    private static final ModelConfig CONFIG =
            RandomModel.config(Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 80, DType.BF16, false, 1, List.of(2));

    private static final int BLOCK = 4;
    private static final int BLOCKS_PER_SEQUENCE = 20;

    @Test
    void bucketsAndWidths() {
        assertThat(CudaBackend.graphBucket(1, 64)).isEqualTo(1);
        assertThat(CudaBackend.graphBucket(3, 64)).isEqualTo(4);
        assertThat(CudaBackend.graphBucket(9, 64)).isEqualTo(12);
        assertThat(CudaBackend.graphBucket(33, 64)).isEqualTo(48);
        assertThat(CudaBackend.graphBucket(64, 64)).isEqualTo(64);
        assertThat(CudaBackend.graphBucket(65, 64)).isEqualTo(-1);
        // a limit between buckets caps the bucket, so every step up to it has a graph
        assertThat(CudaBackend.graphBucket(18, 20)).isEqualTo(20);
        assertThat(CudaBackend.graphBucket(0, 64)).isEqualTo(-1);
        for (int n = 5; n <= 256; n++) {
            int b = CudaBackend.graphBucket(n, 256);
            assertThat(b).as("bucket of %d", n).isBetween(n, (int) Math.ceil(n * 1.5));
        }
        assertThat(CudaBackend.graphWidth(1)).isEqualTo(8);
        assertThat(CudaBackend.graphWidth(8)).isEqualTo(8);
        assertThat(CudaBackend.graphWidth(9)).isEqualTo(16);
        assertThat(CudaBackend.graphWidth(100)).isEqualTo(128);
        assertThatThrownBy(() -> new CudaBackend.Options(256, 4, 0, 8, false, 300))
                .hasMessageContaining("graph batch must be 0 (no graphs) to 256, got 300");
    }

    @Test
    void aPaddedDecodeStepKeepsItsLayoutAndPointsPaddingAtTheSpareBlock() {
        ForwardBatch b = new ForwardBatch();
        b.add(new int[] {9}, 0, 1, 5, 1, new int[] {3, 4}, 2, true);
        b.add(new int[] {7}, 0, 1, 0, -1, new int[] {8}, 1, true);
        b.assignLogitRows();
        CudaStepMetadata m = new CudaStepMetadata();
        m.packDecode(b, BLOCK, 4, 8, 50);
        assertThat(m.tokens()).isEqualTo(4);
        assertThat(m.maxBlocks()).isEqualTo(8);
        // ... and every row listed for the row attention kernel, at fixed offsets too
        assertThat(m.size()).isEqualTo(5 * 4 + 4 * 8 + 4 + 4);
        assertThat(Arrays.copyOfRange(m.data(), 56, 60)).containsExactly(0, 1, 2, 3);
        assertThat(m.prefillTiles()).isZero();
        int[] d = m.data();
        assertThat(Arrays.copyOfRange(d, 0, 4)).containsExactly(9, 7, 0, 0); // token ids
        assertThat(Arrays.copyOfRange(d, 4, 8)).containsExactly(5, 0, 0, 0); // positions
        assertThat(Arrays.copyOfRange(d, 8, 12)).containsExactly(4 * BLOCK + 1, 8 * BLOCK, 50 * BLOCK, 50 * BLOCK);
        assertThat(Arrays.copyOfRange(d, 12, 16)).containsExactly(1, -1, -1, -1); // adapter slots
        assertThat(Arrays.copyOfRange(d, 16, 20)).containsExactly(6, 1, 1, 1); // context lengths
        assertThat(Arrays.copyOfRange(d, 20, 28)).containsExactly(3, 4, 0, 0, 0, 0, 0, 0);
        assertThat(Arrays.copyOfRange(d, 44, 52)).containsExactly(50, 0, 0, 0, 0, 0, 0, 0);
        assertThat(Arrays.copyOfRange(d, 52, 56)).containsExactly(0, 1, 2, 3); // logit tokens
        // a drawing graph's draws follow, one per row of the bucket, the padding rows marked -1 (skipped)
        DeviceDraws draws = new DeviceDraws();
        draws.clear(2);
        draws.set(0, 0, 0, 0.25);
        draws.set(1, 0.5, 0.1, 3, 0.9, 0.75);
        m.packDraws(draws);
        assertThat(m.drawRows()).isEqualTo(4);
        assertThat(m.drawsOffset()).isEqualTo(60);
        assertThat(m.size()).isEqualTo(60 + 4 * CudaKernels.DRAW_INTS);
        int w = CudaKernels.DRAW_INTS;
        assertThat(m.data()[60]).isZero();
        assertThat(Arrays.copyOfRange(m.data(), 60 + w, 60 + 2 * w))
                .containsExactly(
                        1,
                        Float.floatToRawIntBits(0.5f),
                        Float.floatToRawIntBits(0.1f),
                        (int) (Double.doubleToRawLongBits(0.75) >>> 32),
                        (int) Double.doubleToRawLongBits(0.75),
                        3,
                        Float.floatToRawIntBits(0.9f),
                        0);
        assertThat(m.data()[60 + 2 * w]).isEqualTo(-1);
        assertThat(m.data()[60 + 3 * w]).isEqualTo(-1);
        // the next step's packing starts without draws
        m.packDecode(b, BLOCK, 4, 8, 50);
        assertThat(m.drawRows()).isZero();
        assertThat(m.size()).isEqualTo(60);
        draws.clear(2);
        draws.set(0, 0, 0, 0.5);
        assertThatThrownBy(() -> m.packDraws(draws)).hasMessageContaining("1 of 2 rows asked");
        assertThatThrownBy(() -> m.packDecode(b, BLOCK, 1, 8, 50)).hasMessageContaining("in a bucket of 1");
    }

    @Test
    void graphsGiveTheLogitsOfDirectLaunchesAndADecodeStepIsOneCopyAndOneReplay(@TempDir Path dir) throws Exception {
        ModelConfig config = CONFIG;
        Path base = dir.resolve("model");
        RandomModel.write(new RandomModel.Spec(config, 11, 1), base);
        Path a8 = dir.resolve("a8");
        Path a16 = dir.resolve("a16");
        RandomModel.writeAdapter(base, 8, 16, List.of(Projection.values()), 21, DType.BF16, a8);
        RandomModel.writeAdapter(base, 16, 16, List.of(Projection.Q, Projection.V, Projection.UP), 22, DType.BF16, a16);
        EmulatedGpu directGpu = new EmulatedGpu();
        EmulatedGpu graphGpu = new EmulatedGpu();
        int sequences = 6;
        long kv = (long) sequences * BLOCKS_PER_SEQUENCE * BLOCK;
        try (ModelFiles files = ModelFiles.open(base);
                CudaBackend direct =
                        new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 2, 16, false, 0), directGpu);
                CudaBackend graphs =
                        new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 2, 16, false, 4), graphGpu)) {
            for (int slot = 0; slot < 2; slot++) {
                LoraAdapter adapter = LoraAdapter.load("a" + slot, slot == 0 ? a8 : a16, config);
                direct.loadAdapter(slot, adapter);
                graphs.loadAdapter(slot, adapter);
            }
            int[] context = new int[sequences];
            int[] slots = {0, -1, 1, -1, 0, 1};
            // prefills (every kernel launched: not a decode step), the third one long enough that its decodes need a
            // block table wider than 8 blocks
            int[] prompts = {3, 7, 31, 2, 12, 5};
            ForwardBatch prefill = new ForwardBatch();
            for (int s = 0; s < sequences; s++) {
                int[] ids = new int[prompts[s]];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = (5 + 7 * s + 3 * i) % config.vocabSize();
                }
                prefill.add(ids, 0, ids.length, 0, slots[s], blocksOf(s), blocksFor(ids.length), true);
                context[s] = ids.length;
            }
            compare(prefill, direct, graphs, config);
            assertThat(graphGpu.replays).isZero();
            // decode steps: which sequences take part (6 is above the graph batch of 4)
            int[][] steps = {
                {0, 1, 3}, {0, 1, 3}, {1, 3}, {0, 2}, {0, 1, 2, 3, 4, 5}, {0, 1, 3, 4}, {3}, {1, 3}, {0, 1, 3}, {0, 2}
            };
            List<String> shapes = new ArrayList<>();
            for (int k = 0; k < steps.length; k++) {
                int[] in = steps[k];
                boolean anyAdapter = false;
                int widest = 1;
                for (int s : in) {
                    anyAdapter |= slots[s] >= 0;
                    widest = Math.max(widest, blocksFor(context[s] + 1));
                }
                ForwardBatch step = decode(k, in, context, slots, config);
                long launches = graphGpu.directLaunches;
                long replays = graphGpu.replays;
                long copies = graphGpu.copiesIn;
                long captures = graphGpu.captures;
                compare(step, direct, graphs, config);
                if (in.length > 4) {
                    assertThat(graphGpu.replays).as("step %d", k).isEqualTo(replays);
                    assertThat(graphGpu.directLaunches).as("step %d", k).isGreaterThan(launches);
                    continue;
                }
                String shape =
                        CudaBackend.graphBucket(in.length, 4) + "x" + CudaBackend.graphWidth(widest) + anyAdapter;
                boolean seen = shapes.contains(shape);
                shapes.add(shape);
                assertThat(graphGpu.replays).as("step %d", k).isEqualTo(replays + 1);
                assertThat(graphGpu.directLaunches)
                        .as("step %d launches no kernel itself", k)
                        .isEqualTo(launches);
                assertThat(graphGpu.copiesIn)
                        .as("step %d copies its metadata once", k)
                        .isEqualTo(copies + 1);
                assertThat(graphGpu.captures).as("step %d", k).isEqualTo(captures + (seen ? 0 : 1));
            }
            assertThat(graphs.graphSteps()).isEqualTo(9);
            assertThat(graphs.graphCaptures())
                    .isEqualTo(shapes.stream().distinct().count());
            // the graphs covered buckets 1 to 4, with and without LoRA, and one bucket at two widths: the third
            // sequence's first decode fits 8 blocks, its later one needs 9 (a graph of the narrower layout would read
            // its block table wrongly)
            assertThat(shapes).contains("4x8true", "2x8false", "1x8false", "2x8true", "2x16true");
        }
    }

    /**
     * A bucket above the GEMV's 8 tokens captures cuBLAS for its linear layers (the GEMV would stream every weight
     * once per 8 rows), and its replays give the logits of launching every kernel; where cuBLAS cannot be captured
     * the graphs take the backend's own tensor-core GEMM, with the same logits (the same bf16 inputs).
     */
    @Test
    void largeBucketsCaptureCublasOrFallBackToTheOwnTensorCoreGemm(@TempDir Path dir) throws Exception {
        ModelConfig config = CONFIG;
        Path base = dir.resolve("model");
        RandomModel.write(new RandomModel.Spec(config, 12, 1), base);
        int sequences = 12;
        long kv = (long) sequences * BLOCKS_PER_SEQUENCE * BLOCK;
        for (boolean capturable : new boolean[] {true, false}) {
            EmulatedGpu directGpu = new EmulatedGpu(true);
            EmulatedGpu graphGpu = new EmulatedGpu(true, capturable);
            try (ModelFiles files = ModelFiles.open(base);
                    CudaBackend direct =
                            new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 0, 8, false, 0), directGpu);
                    CudaBackend graphs =
                            new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 0, 8, false, 16), graphGpu)) {
                int[] context = new int[sequences];
                ForwardBatch prefill = new ForwardBatch();
                for (int s = 0; s < sequences; s++) {
                    int[] ids = {(3 + 5 * s) % config.vocabSize(), (7 + s) % config.vocabSize()};
                    prefill.add(ids, 0, ids.length, 0, -1, blocksOf(s), blocksFor(ids.length), true);
                    context[s] = ids.length;
                }
                compare(prefill, direct, graphs, config);
                for (int k = 0; k < 3; k++) {
                    ForwardBatch step = decode(
                            k, java.util.stream.IntStream.range(0, sequences).toArray(), context, null, config);
                    long launches = graphGpu.directLaunches;
                    long gemms = graphGpu.gemms;
                    int ownGemms = (int) graphGpu.launches.stream()
                            .filter("ts_gemm_bf16"::equals)
                            .count();
                    compare(step, direct, graphs, config);
                    int replayedOwn = (int) graphGpu.launches.stream()
                                    .filter("ts_gemm_bf16"::equals)
                                    .count()
                            - ownGemms;
                    // q, k, v, o, gate/up, down of two layers, and the LM head: by cuBLAS, or by the own GEMM
                    assertThat(replayedOwn).as("step %d", k).isEqualTo(capturable ? 0 : 13);
                    assertThat(graphGpu.directLaunches)
                            .as("step %d launches no kernel itself", k)
                            .isEqualTo(launches);
                    if (capturable) {
                        // q, k, v, o, gate/up, down of two layers, and the LM head
                        assertThat(graphGpu.gemms - gemms).as("step %d", k).isEqualTo(13);
                    } else {
                        assertThat(graphGpu.gemms).as("step %d", k).isEqualTo(gemms);
                    }
                }
                assertThat(graphs.graphSteps()).isEqualTo(3);
                assertThat(graphs.graphCaptures()).isEqualTo(1);
                assertThat(graphs.gemmGraphs()).isEqualTo(capturable ? 1 : 0);
            }
        }
    }

    /**
     * A decode step whose rows are all drawn on the device draws them inside its graph: the same tokens as the
     * kernels launched one by one with the draws launched after them, and still one metadata copy (the draws ride in
     * it) and one graph launch, with only the tokens coming back; a step with a row the host draws replays the graph
     * that returns logits.
     */
    @Test
    void aDecodeStepThatDrawsOnTheDeviceDrawsInsideItsGraph(@TempDir Path dir) throws Exception {
        ModelConfig config = CONFIG;
        Path base = dir.resolve("model");
        RandomModel.write(new RandomModel.Spec(config, 13, 1), base);
        Path a8 = dir.resolve("a8");
        RandomModel.writeAdapter(base, 8, 16, List.of(Projection.values()), 23, DType.BF16, a8);
        EmulatedGpu directGpu = new EmulatedGpu();
        EmulatedGpu graphGpu = new EmulatedGpu();
        int sequences = 4;
        long kv = (long) sequences * BLOCKS_PER_SEQUENCE * BLOCK;
        try (ModelFiles files = ModelFiles.open(base);
                CudaBackend direct =
                        new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 1, 8, false, 0), directGpu);
                CudaBackend graphs =
                        new CudaBackend(files, new CudaBackend.Options(kv, BLOCK, 1, 8, false, 4), graphGpu)) {
            LoraAdapter adapter = LoraAdapter.load("a0", a8, config);
            direct.loadAdapter(0, adapter);
            graphs.loadAdapter(0, adapter);
            direct.deviceDraws(true);
            graphs.deviceDraws(true);
            int[] slots = {0, -1, 0, -1};
            int[] context = new int[sequences];
            ForwardBatch prefill = new ForwardBatch();
            for (int s = 0; s < sequences; s++) {
                int[] ids = {(3 + 5 * s) % config.vocabSize(), (7 + s) % config.vocabSize(), 1 + s};
                prefill.add(ids, 0, ids.length, 0, slots[s], blocksOf(s), blocksFor(ids.length), true);
                context[s] = ids.length;
            }
            compare(prefill, direct, graphs, config);
            // which sequences take part, and whether the last row is left to the host
            int[][] steps = {{0, 1, 2}, {0, 1, 2, 3}, {1, 3}, {0, 2, 3}, {2}, {0, 1, 2, 3}};
            boolean[] hostRow = {false, false, false, true, false, false};
            int drawingSteps = 0;
            for (int k = 0; k < steps.length; k++) {
                int[] in = steps[k];
                ForwardBatch step = decode(k, in, context, slots, config);
                int rows = step.assignLogitRows();
                DeviceDraws draws = new DeviceDraws();
                draws.clear(rows);
                for (int row = 0; row < rows; row++) {
                    if (hostRow[k] && row == rows - 1) {
                        continue;
                    }
                    double u = (0.37 + 0.29 * row + 0.11 * k) % 1.0;
                    switch ((row + k) % 4) {
                        case 0 -> draws.set(row, 0, 0, u);
                        case 1 -> draws.set(row, 0.9, 0.05, u);
                        case 2 -> draws.set(row, 1.3, 0, 5, 1, u);
                        default -> draws.set(row, 0.7, 0, 0, 0.8, u);
                    }
                }
                int[] expected = new int[rows];
                int[] actual = new int[rows];
                Arrays.fill(actual, -7);
                float[] expectedLogits = new float[rows * config.vocabSize()];
                float[] actualLogits = new float[rows * config.vocabSize()];
                direct.forward(step, draws, expected, expectedLogits);
                long launches = graphGpu.directLaunches;
                long replays = graphGpu.replays;
                long copiesIn = graphGpu.copiesIn;
                long copiesOut = graphGpu.copiesOut;
                long before = graphs.graphDrawSteps();
                graphs.forward(step, draws, actual, actualLogits);
                assertThat(graphGpu.replays).as("step %d", k).isEqualTo(replays + 1);
                if (hostRow[k]) {
                    // the host's row needs logits: the graph that returns them, then the device's rows drawn apart
                    assertThat(graphs.graphDrawSteps()).as("step %d", k).isEqualTo(before);
                    assertThat(actualLogits).as("step %d", k).containsExactly(expectedLogits);
                    assertThat(Arrays.copyOf(actual, rows - 1))
                            .as("step %d", k)
                            .containsExactly(Arrays.copyOf(expected, rows - 1));
                    continue;
                }
                drawingSteps++;
                assertThat(actual).as("step %d", k).containsExactly(expected);
                assertThat(graphs.graphDrawSteps()).as("step %d", k).isEqualTo(before + 1);
                assertThat(graphGpu.directLaunches)
                        .as("step %d launches no kernel itself", k)
                        .isEqualTo(launches);
                assertThat(graphGpu.copiesIn)
                        .as("step %d copies its metadata and draws once", k)
                        .isEqualTo(copiesIn + 1);
                assertThat(graphGpu.copiesOut)
                        .as("step %d brings back its tokens", k)
                        .isEqualTo(copiesOut + 1);
            }
            assertThat(drawingSteps).isEqualTo(5);
            assertThat(graphs.deviceDrawn()).isEqualTo(direct.deviceDrawn());
        }
    }

    /**
     * Decode step {@code k} of the sequences {@code in}: one token each (an id from k and the sequence) after its
     * context, which moves on by one; adapter slots from {@code slots} (null: none), blocks from {@link #blocksOf}.
     */
    private static ForwardBatch decode(int k, int[] in, int[] context, int[] slots, ModelConfig c) {
        ForwardBatch step = new ForwardBatch();
        for (int s : in) {
            step.add(
                    new int[] {(11 * k + 13 * s) % c.vocabSize()},
                    0,
                    1,
                    context[s],
                    slots == null ? -1 : slots[s],
                    blocksOf(s),
                    blocksFor(context[s] + 1),
                    true);
            context[s]++;
        }
        return step;
    }

    private static int[] blocksOf(int sequence) {
        int[] blocks = new int[BLOCKS_PER_SEQUENCE];
        for (int i = 0; i < blocks.length; i++) {
            blocks[i] = sequence * BLOCKS_PER_SEQUENCE + i;
        }
        return blocks;
    }

    private static int blocksFor(int tokens) {
        return (tokens + BLOCK - 1) / BLOCK;
    }

    private static void compare(ForwardBatch batch, CudaBackend direct, CudaBackend graphs, ModelConfig c) {
        int rows = batch.assignLogitRows();
        float[] expected = new float[rows * c.vocabSize()];
        float[] actual = new float[rows * c.vocabSize()];
        Arrays.fill(actual, Float.NaN);
        direct.forward(batch, expected);
        graphs.forward(batch, actual);
        assertThat(actual).containsExactly(expected);
    }
}
