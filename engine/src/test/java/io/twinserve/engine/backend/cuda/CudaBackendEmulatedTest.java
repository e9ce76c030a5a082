package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CUDA backend's forward pass on an emulated device ({@link EmulatedGpu}: each kernel's Java reference on
 * host memory) against the CPU backend, on every architecture with two adapters of different ranks: a mixed step
 * of a prefill with an adapter, a prefill without, then decodes over the paged cache, one switching adapter. What
 * this checks is the backend's orchestration (layout, metadata, pointers, the order and arguments of the kernels);
 * the kernels themselves meet their references on a GPU in the GPU check. The emulation does the CPU backend's
 * fp32 arithmetic over the same bf16 weights, adapters and KV cache, so the two agree to float rounding (about
 * 3e-7 of the largest logit when this was written); the gate is 1e-4, where a wrong offset, norm or scale shows
 * (the adapters left out give 0.39). On a GPU, ../shared/CUDA.md's gate is 2e-2.
 */
class CudaBackendEmulatedTest {
    private static final double GATE = 1e-4;

    @Test
    void everyArchitectureMatchesTheCpuBackendWithAdaptersOverMixedSteps(@TempDir Path dir) throws Exception {
        for (Architecture arch : Architecture.values()) {
            Path base = dir.resolve(arch.name());
            ModelConfig config = RandomModel.config(arch, 2, 64, 96, 4, 2, 16, 80, DType.BF16, false, 1, List.of(2));
            RandomModel.write(new RandomModel.Spec(config, 11, 1), base);
            RandomModel.writeAdapter(
                    base, 8, 16, List.of(Projection.values()), 21, DType.BF16, dir.resolve(arch + "-a8"));
            RandomModel.writeAdapter(
                    base,
                    16,
                    16,
                    List.of(Projection.Q, Projection.V, Projection.UP),
                    22,
                    DType.BF16,
                    dir.resolve(arch + "-a16"));
            try (ModelFiles files = ModelFiles.open(base);
                    CpuBackend cpu = new CpuBackend(files, new CpuBackend.Options(1, 1, 256, 4, 2, DType.BF16));
                    EmulatedGpu gpu = new EmulatedGpu();
                    CudaBackend cuda = new CudaBackend(files, new CudaBackend.Options(256, 4, 2, 16), gpu)) {
                for (int slot = 0; slot < 2; slot++) {
                    Path ad = dir.resolve(arch + (slot == 0 ? "-a8" : "-a16"));
                    LoraAdapter adapter = LoraAdapter.load("a" + slot, ad, files.config());
                    cpu.loadAdapter(slot, adapter);
                    cuda.loadAdapter(slot, adapter);
                }
                int[] a = {5, 17, 33, 2, 71, 9, 44};
                int[] b = {3, 8, 60, 12, 1};
                int[] blocksA = {0, 1, 2, 3};
                int[] blocksB = {7, 5, 6};
                // step 1: A prefills 7 tokens with adapter 0, B 5 tokens without; logits for every token
                ForwardBatch batch = new ForwardBatch();
                batch.allLogits(true);
                batch.add(a, 0, 7, 0, 0, blocksA, 4, true);
                batch.add(b, 0, 5, 0, -1, blocksB, 3, true);
                compare(arch + " prefill", batch, cpu, cuda, config);
                // steps 2 and 3: one decode token each, B switching to adapter 1 in the last
                for (int step = 0; step < 2; step++) {
                    batch = new ForwardBatch();
                    batch.add(new int[] {20 + step}, 0, 1, 7 + step, 0, blocksA, 4, true);
                    batch.add(new int[] {30 + step}, 0, 1, 5 + step, step == 0 ? -1 : 1, blocksB, 3, true);
                    compare(arch + " decode " + step, batch, cpu, cuda, config);
                }
                assertThat(gpu.launches).contains("ts_lora_shrink", "ts_lora_expand", "ts_paged_attention");
            }
        }
    }

    private static void compare(String what, ForwardBatch batch, CpuBackend cpu, CudaBackend cuda, ModelConfig c) {
        int rows = batch.assignLogitRows();
        float[] expected = new float[rows * c.vocabSize()];
        float[] actual = new float[rows * c.vocabSize()];
        cpu.forward(batch, expected);
        cuda.forward(batch, actual);
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < expected.length; i++) {
            assertThat(Float.isNaN(actual[i])).as(what + " NaN at " + i).isFalse();
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        assertThat(maxRef).as(what).isPositive();
        assertThat(maxDiff / maxRef).as(what + ": max |cuda - cpu| / max |cpu|").isLessThanOrEqualTo(GATE);
    }
}
