package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.Tensor;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Real model files (written by RandomModel) packed into the device layout, checked element by element. */
class CudaWeightLayoutTest {

    private static ModelFiles model(Path dir, Architecture arch, DType dtype) throws Exception {
        ModelConfig c = RandomModel.config(arch, 2, 64, 96, 4, 2, 16, 50, dtype, false, 1, List.of(2));
        RandomModel.write(new RandomModel.Spec(c, 3, 1), dir);
        return ModelFiles.open(dir);
    }

    private static void sameRows(Tensor t, short[] packed, long at) {
        for (int r = 0; r < t.rows(); r++) {
            for (int col = 0; col < t.cols(); col++) {
                assertThat(packed[(int) at + r * t.cols() + col])
                        .as("%s[%d][%d]", t.name(), r, col)
                        .isEqualTo(DType.toBf16(t.get(r, col)));
            }
        }
    }

    @Test
    void qwen2LayersPackWithFusedQkvAndBiasesAndFusedGateUp(@TempDir Path dir) throws Exception {
        try (ModelFiles files = model(dir, Architecture.QWEN2, DType.BF16)) {
            CudaWeightLayout l = CudaWeightLayout.of(files);
            ModelConfig c = files.config();
            assertThat(l.qkvBias).isPositive();
            assertThat(l.qNorm).isEqualTo(-1);
            // q 64x64, k and v 32x64 each, their biases, o 64x64, gate and up 96x64 each, down 64x96, two norms
            assertThat(l.layerElements).isEqualTo(128 * 64 + 128 + 64 * 64 + 2 * 96 * 64 + 64 * 96 + 2 * 64);
            short[] packed = new short[(int) (2 * l.layerElements)];
            ModelFiles.LayerWeights w = files.layers().get(1);
            int base = (int) l.layerElements; // the second layer's place
            l.pack(w, packed, base);
            sameRows(w.q(), packed, base + l.qkv);
            sameRows(w.k(), packed, base + l.qkv + 64L * 64);
            sameRows(w.v(), packed, base + l.qkv + 96L * 64);
            sameRows(w.vBias(), packed, base + l.qkvBias + 96);
            sameRows(w.o(), packed, base + l.o);
            sameRows(w.up(), packed, base + l.gateUp + (long) c.intermediateSize() * 64);
            sameRows(w.down(), packed, base + l.down);
            sameRows(w.postAttentionNorm(), packed, base + l.postNorm);
            assertThat(packed[0]).as("the first layer's place is left alone").isZero();
        }
    }

    @Test
    void qwen3KeepsItsQkNormsAndF32WeightsAreRoundedToBf16(@TempDir Path dir) throws Exception {
        try (ModelFiles files = model(dir, Architecture.QWEN3, DType.F32)) {
            CudaWeightLayout l = CudaWeightLayout.of(files);
            assertThat(l.qkvBias).isEqualTo(-1);
            assertThat(l.kNorm - l.qNorm).isEqualTo(16);
            short[] packed = new short[(int) l.layerElements];
            ModelFiles.LayerWeights w = files.layers().getFirst();
            l.pack(w, packed, 0);
            sameRows(w.kNorm(), packed, l.kNorm);
            sameRows(w.gate(), packed, l.gateUp);
        }
    }

    @Test
    void anAdapterFillsItsSlotUpToItsRankAndZerosTheRest(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("base");
        try (ModelFiles files = model(base, Architecture.LLAMA, DType.BF16)) {
            Path ad = dir.resolve("a8");
            RandomModel.writeAdapter(base, 8, 16, List.of(Projection.Q, Projection.DOWN), 5, DType.BF16, ad);
            LoraAdapter adapter = LoraAdapter.load("a8", ad, files.config());
            CudaWeightLayout l = CudaWeightLayout.of(files);
            int maxRank = 16;
            int in = 96; // down: 96 -> 64
            int out = 64;
            short[] a = new short[maxRank * in + 5];
            short[] b = new short[out * maxRank + 5];
            java.util.Arrays.fill(a, (short) 7);
            java.util.Arrays.fill(b, (short) 7);
            float scale = l.packAdapter(adapter, 1, Projection.DOWN, maxRank, a, 5, b, 5);
            assertThat(scale).isEqualTo(adapter.scale()).isEqualTo(2f);
            float[] av = adapter.a(1, Projection.DOWN);
            float[] bv = adapter.b(1, Projection.DOWN);
            assertThat(a[5 + 3 * in + 10]).isEqualTo(DType.toBf16(av[3 * in + 10]));
            assertThat(a[5 + 8 * in]).as("row 8 of A, past the rank").isZero();
            assertThat(b[5 + 20 * maxRank + 7]).isEqualTo(DType.toBf16(bv[20 * 8 + 7]));
            assertThat(b[5 + 20 * maxRank + 8])
                    .as("column 8 of B, past the rank")
                    .isZero();
            assertThat(a[0]).as("before the slot").isEqualTo((short) 7);
            // an untargeted projection is an all-zero slot
            l.packAdapter(adapter, 1, Projection.V, maxRank, a, 0, b, 0);
            for (int i = 0; i < maxRank * 64; i++) {
                assertThat(a[i]).isZero();
            }
            assertThatThrownBy(() -> l.packAdapter(adapter, 0, Projection.Q, 4, a, 0, b, 0))
                    .hasMessageContaining("rank 8, above the slots' max_lora_rank 4");
        }
    }
}
