package io.twinserve.engine.backend.cpu;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ForwardPassTest {
    @TempDir
    Path tmp;

    /** Three sequences (two adapters of different ranks and the base model) over two steps. */
    private static final int[][] TOKENS = new Random(3)
            .ints(3 * 12, 3, 300).boxed().toList().stream()
                    .collect(Collectors.collectingAndThen(Collectors.toList(), l -> new int[][] {
                        l.subList(0, 11).stream().mapToInt(Integer::intValue).toArray(),
                        l.subList(12, 22).stream().mapToInt(Integer::intValue).toArray(),
                        l.subList(24, 30).stream().mapToInt(Integer::intValue).toArray()
                    }));

    private static final int[] SLOTS = {0, 1, -1};
    // per step, per sequence: [from, count]; step 2 has S1's decode token
    private static final int[][][] STEPS = {{{0, 7}, {0, 9}, {0, 4}}, {{7, 4}, {9, 1}, {4, 2}}};

    /**
     * kv: the KV cache's dtype, or AUTO for the backend's choice (bf16 for bf16 and f16 models, f32 for f32).
     * heads/kvHeads/headDim: query heads per K/V head of 2 (per shard), 4 and 6 (the attention kernel takes
     * four heads at a time, then one), and head dimensions of 16, 32 and 24 (a vector tail); tp 4 over 2 or 1 K/V heads
     * replicates each K/V head on 2 or 4 shards, as vLLM does.
     */
    @ParameterizedTest(name = "{0} {1} tp={2} shards={3} kv={4} heads={5}/{6}x{7}")
    @CsvSource({
        "LLAMA,BF16,1,1,F32,4,2,16",
        "LLAMA,BF16,1,1,AUTO,4,2,16",
        "QWEN2,BF16,1,2,AUTO,8,2,32",
        "QWEN3,F16,1,1,AUTO,4,2,16",
        "MISTRAL,F32,1,3,AUTO,12,2,24",
        "MISTRAL,F32,1,1,BF16,12,2,24",
        "LLAMA,BF16,2,1,AUTO,16,4,16",
        "QWEN3,BF16,2,2,F32,12,2,24",
        "LLAMA,BF16,1,1,AUTO,12,2,24",
        "LLAMA,BF16,4,1,AUTO,8,2,16",
        "QWEN2,BF16,4,2,F32,8,1,16",
        "QWEN3,BF16,4,1,AUTO,8,2,16"
    })
    void batchedPagedMultiAdapterLogitsEqualThePlainReferenceAtEveryPosition(
            Architecture arch, DType dtype, int tp, int shards, String kv, int heads, int kvHeads, int headDim)
            throws Exception {
        Path base = TinyModels.model(tmp.resolve("m"), TinyModels.config(arch, dtype, heads, kvHeads, headDim), shards);
        Path a0 = TinyModels.adapter(base, tmp.resolve("a0"), 4, List.of(Projection.values()), 11);
        Path a1 = TinyModels.adapter(
                base, tmp.resolve("a1"), 8, List.of(Projection.Q, Projection.V, Projection.O, Projection.DOWN), 12);
        try (ModelFiles model = ModelFiles.open(base);
                CpuBackend backend = new CpuBackend(
                        model,
                        new CpuBackend.Options(tp, 2, 256, 4, 2, kv.equals("AUTO") ? null : DType.valueOf(kv)))) {
            DType expectedKv = kv.equals("AUTO") ? (dtype == DType.F32 ? DType.F32 : DType.BF16) : DType.valueOf(kv);
            assertThat(backend.kvCacheDtype()).isEqualTo(expectedKv);
            boolean bf16Kv = expectedKv == DType.BF16;
            LoraAdapter l0 = LoraAdapter.load("a0", a0, model.config());
            LoraAdapter l1 = LoraAdapter.load("a1", a1, model.config());
            backend.loadAdapter(0, l0);
            backend.loadAdapter(1, l1);
            double[][][] expected = {
                new ReferenceForward(model, l0, bf16Kv).logits(TOKENS[0]),
                new ReferenceForward(model, l1, bf16Kv).logits(TOKENS[1]),
                new ReferenceForward(model, null, bf16Kv).logits(TOKENS[2])
            };
            // scattered, shuffled blocks: paging must not depend on contiguity
            List<Integer> free = new ArrayList<>();
            for (int i = 0; i < 64; i++) {
                free.add(i);
            }
            Collections.shuffle(free, new Random(5));
            int[][] tables = new int[3][4];
            for (int s = 0; s < 3; s++) {
                for (int i = 0; i < 4; i++) {
                    tables[s][i] = free.get(s * 4 + i);
                }
            }
            int vocab = model.config().vocabSize();
            ForwardBatch batch = new ForwardBatch();
            int compared = 0;
            for (int[][] step : STEPS) {
                batch.clear();
                batch.allLogits(true);
                for (int s = 0; s < 3; s++) {
                    batch.add(TOKENS[s], step[s][0], step[s][1], step[s][0], SLOTS[s], tables[s], 4, true);
                }
                float[] logits = new float[batch.tokens() * vocab];
                backend.forward(batch, logits);
                for (int s = 0; s < 3; s++) {
                    for (int j = 0; j < step[s][1]; j++) {
                        int row = batch.logitRow(s) + j;
                        double[] ref = expected[s][step[s][0] + j];
                        double scale = 0;
                        for (double v : ref) {
                            scale = Math.max(scale, Math.abs(v));
                        }
                        for (int v = 0; v < vocab; v++) {
                            assertThat((double) logits[row * vocab + v])
                                    .as("sequence %d position %d logit %d", s, step[s][0] + j, v)
                                    .isCloseTo(ref[v], Offset.offset(2e-4 * scale + 1e-5));
                        }
                        compared++;
                    }
                }
            }
            assertThat(compared).isEqualTo(11 + 10 + 6);
        }
    }
}
