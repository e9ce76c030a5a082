package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the CUDA backend holds on its device against what its memory plan counted, on the emulated device (which
 * counts the bytes allocated and not freed): a KV cache sized to fill the plan's budget must not leave the backend
 * short once it runs steps, prefills and decode graphs. The step metadata (per token a block table) is not in the
 * plan and is left out here.
 */
class CudaMemoryUseTest {
    private static final ModelConfig C =
            RandomModel.config(Architecture.LLAMA, 2, 64, 128, 4, 2, 16, 100, DType.BF16, false, 1, List.of(2));

    @Test
    void theDeviceHoldsWhatThePlanCountedAndTheStepBuffersDoNotGrow(@TempDir Path dir) throws Exception {
        Path base = dir.resolve("model");
        RandomModel.write(new RandomModel.Spec(C, 51, 1), base);
        // 32 tokens and 4 sequences a step, 2 adapter slots of rank 8, decode graphs of up to 4 sequences, 512 KV
        // tokens
        CudaBackend.Sizing sizing = new CudaBackend.Sizing(512L, 4, 2, 8, 0.9, 32, 4, 64, false, 4);
        CudaMemoryPlan plan = CudaMemoryPlan.plan(C, sizing.request(1L << 30));
        EmulatedGpu gpu = new EmulatedGpu(true);
        try (ModelFiles files = ModelFiles.open(base);
                CudaBackend backend = new CudaBackend(files, sizing.options(plan), gpu)) {
            int[] context = new int[4];
            int[][] blocks = new int[4][16];
            for (int s = 0; s < 4; s++) {
                for (int i = 0; i < 16; i++) {
                    blocks[s][i] = s * 16 + i;
                }
            }
            // a first step of 5 tokens: the step buffers come at the plan's 32 tokens and 4 rows at once
            ForwardBatch small = new ForwardBatch();
            small.add(new int[] {1, 2, 3, 4, 5}, 0, 5, 0, -1, blocks[0], 2, true);
            run(backend, small);
            context[0] = 5;
            long afterFirst = gpu.liveBytes - backend.metadataBytes();
            // a full step: prefills of 3 sequences, 27 tokens
            ForwardBatch full = new ForwardBatch();
            for (int s = 1; s < 4; s++) {
                int[] ids = new int[9];
                for (int i = 0; i < ids.length; i++) {
                    ids[i] = (7 * s + i) % 100;
                }
                full.add(ids, 0, ids.length, 0, -1, blocks[s], 3, true);
                context[s] = ids.length;
            }
            run(backend, full);
            // (the metadata buffer grows with the step: per token a block table)
            assertThat(gpu.liveBytes - backend.metadataBytes())
                    .as("a step within the plan's tokens allocates no step buffer")
                    .isEqualTo(afterFirst);
            // decode steps replaying graphs (their scratch and metadata come once)
            for (int k = 0; k < 3; k++) {
                ForwardBatch decode = new ForwardBatch();
                for (int s = 0; s < 4; s++) {
                    decode.add(
                            new int[] {(3 * k + s) % 100}, 0, 1, context[s], -1, blocks[s], (context[s] + 4) / 4, true);
                    context[s]++;
                }
                run(backend, decode);
            }
            long planned = plan.usedBytes();
            // what the plan counts that this device does not allocate: cuBLAS's workspace (the emulation has no
            // cuBLAS handle to give one)
            long notAllocated = plan.workspaceBytes();
            long held = gpu.liveBytes - backend.metadataBytes();
            assertThat(held)
                    .as("held %d, planned %d without the workspace", held, planned - notAllocated)
                    .isLessThanOrEqualTo(planned - notAllocated);
            // and counted little more than that (the plan's bf16 logits rows and partials are upper bounds)
            assertThat(planned - notAllocated - held).isLessThan(1024);
        }
    }

    private static void run(CudaBackend backend, ForwardBatch b) {
        int rows = b.assignLogitRows();
        backend.forward(b, new float[rows * C.vocabSize()]);
    }
}
