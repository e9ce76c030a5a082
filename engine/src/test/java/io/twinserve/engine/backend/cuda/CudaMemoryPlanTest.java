package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.write.RandomModel;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CUDA memory plan's arithmetic, worked by hand on a small Llama shape, and its refusals. */
class CudaMemoryPlanTest {
    // 2 layers, hidden 64, intermediate 128, 4 heads and 2 KV heads of 16, vocabulary 100, untied, no biases
    private static final ModelConfig C =
            RandomModel.config(Architecture.LLAMA, 2, 64, 128, 4, 2, 16, 100, DType.BF16, false, 1, List.of(2));
    private static final long MIB = 1L << 20;

    private static CudaMemoryPlan.Request request(long deviceBytes, int slots, Long kvTokens) {
        return new CudaMemoryPlan.Request(deviceBytes, 0.5, slots, 8, 32, 4, 16, 2, 256, kvTokens, 0);
    }

    @Test
    void eachTermAsWorkedByHand() {
        // weights: per layer q 64x64, k and v 64x32, o 64x64, gate/up/down 3x64x128, two norms of 64
        long perLayer = 64 * 64 + 2 * 64 * 32 + 64 * 64 + 3 * 64 * 128 + 2 * 64;
        long params = 2 * perLayer + 2 * 100 * 64 + 64; // embedding and lm_head (untied), the final norm
        assertThat(CudaMemoryPlan.weightBytes(C)).isEqualTo(2 * params);
        // adapter slots at rank 8, every projection: rank x (in + out) per slot and layer, bf16
        long inOut = (64 + 64) + (64 + 32) + (64 + 32) + (64 + 64) + (64 + 128) + (64 + 128) + (128 + 64);
        assertThat(CudaMemoryPlan.adapterSlotBytes(C, 3, 8)).isEqualTo(2L * 3 * 8 * inOut * 2);
        // K and V of a token: 2 layers x 2 (K, V) x 32 values x 2 bytes
        assertThat(CudaMemoryPlan.kvBytesPerToken(C, 2)).isEqualTo(256);
        // the step's buffers at 32 tokens and 4 logit rows (fp32 and bf16), with split-K attention's partials
        // (the residual stream, its normed copy, a layer's output and the final norm's rows; q, k, v, the attention
        // output, gate/up and their product, the LoRA intermediate)
        long f32PerToken = 4 * 64 + 64 + 2 * 32 + 64 + 3 * 128 + 3 * 8;
        long partials = 4 * CudaKernels.maxAttentionPartialFloats(32, C.numKvHeads(), C.numHeads(), C.headDim());
        assertThat(partials).isPositive();
        assertThat(CudaMemoryPlan.activationBytes(C, 32, 4, 8))
                .isEqualTo(4 * 32 * f32PerToken + 2 * 32 * 128 + partials + (4 + 2) * 4 * 100);

        CudaMemoryPlan p = CudaMemoryPlan.plan(C, request(256 * MIB, 3, null));
        long fixed = p.weightBytes() + p.adapterSlotBytes() + p.workspaceBytes() + p.activationBytes();
        assertThat(p.budgetBytes()).isEqualTo(128 * MIB);
        assertThat(p.workspaceBytes()).isEqualTo(32 * MIB);
        assertThat(p.kvBlockBytes()).isEqualTo(16 * 256);
        assertThat(p.kvBlocks()).isEqualTo((128 * MIB - fixed) / (16 * 256));
        assertThat(p.kvCacheTokens()).isEqualTo(p.kvBlocks() * 16);
        assertThat(p.usedBytes()).isLessThanOrEqualTo(p.budgetBytes());
        assertThat(p.budgetBytes() - p.usedBytes()).isLessThan(p.kvBlockBytes());
        // RoPE's cos and sin for the model's 4,096 positions (no cache size asked), and 3 slots' rank and scale
        assertThat(CudaMemoryPlan.tableBytes(C, 3, null)).isEqualTo(2 * 4 * 4096 * 8 + 8 * 3);
        assertThat(CudaMemoryPlan.tableBytes(C, 3, 100L)).isEqualTo(2 * 4 * 100 * 8 + 8 * 3);
        // the twin's terms: the workspace is counted with the activations
        assertThat(p.breakdown().activationBytes()).isEqualTo(p.workspaceBytes() + p.activationBytes());
        assertThat(p.breakdown().kvCacheTokens()).isEqualTo(p.kvCacheTokens());
    }

    @Test
    void moreSlotsLeaveExactlyTheirBytesFewerForTheCache() {
        CudaMemoryPlan few = CudaMemoryPlan.plan(C, request(256 * MIB, 1, null));
        CudaMemoryPlan many = CudaMemoryPlan.plan(C, request(256 * MIB, 1001, null));
        long slotBytes = many.adapterSlotBytes() - few.adapterSlotBytes();
        assertThat(slotBytes).isEqualTo(CudaMemoryPlan.adapterSlotBytes(C, 1000, 8));
        long freeFew = few.budgetBytes() - few.usedBytes() + few.kvBlocks() * few.kvBlockBytes();
        // (and each slot's rank and scale, 8 bytes, in the tables)
        assertThat(many.activationBytes() - few.activationBytes()).isEqualTo(8 * 1000);
        assertThat(many.kvBlocks()).isEqualTo((freeFew - slotBytes - 8 * 1000) / few.kvBlockBytes());
    }

    @Test
    void aCacheShorterThanOneSequenceIsRefusedWithTheShortfall() {
        // a budget that leaves room for 10 blocks (160 tokens) past the fixed terms: 6 blocks short of 256 tokens
        long fixed = CudaMemoryPlan.weightBytes(C)
                + CudaMemoryPlan.CUBLAS_WORKSPACE_BYTES
                + CudaMemoryPlan.activationBytes(C, 32, 4, 8)
                + CudaMemoryPlan.tableBytes(C, 0, null)
                + 4 * (CudaKernels.DRAW_INTS + 1) * 4;
        long device = 2 * (fixed + 10 * 4096);
        assertThatThrownBy(() -> CudaMemoryPlan.plan(C, request(device, 0, null)))
                .isInstanceOfSatisfying(InsufficientGpuMemoryException.class, e -> {
                    assertThat(e.shortfallBytes()).isEqualTo(6 * 4096);
                    assertThat(e.getMessage())
                            .contains("holds 160 tokens, fewer than one sequence of max_model_len 256");
                });
        // past the fixed terms altogether, the overflow is short too
        long tiny = 2 * (fixed - 1000);
        assertThatThrownBy(() -> CudaMemoryPlan.plan(C, request(tiny, 0, null)))
                .isInstanceOfSatisfying(
                        InsufficientGpuMemoryException.class,
                        e -> assertThat(e.shortfallBytes()).isEqualTo(16 * 4096 + 1000));
    }

    @Test
    void anAskedCacheSizeIsRoundedToBlocksAndRefusedWhenItDoesNotFit() {
        CudaMemoryPlan p = CudaMemoryPlan.plan(C, request(256 * MIB, 0, 1000L));
        assertThat(p.kvBlocks()).isEqualTo(63);
        assertThat(p.kvCacheTokens()).isEqualTo(1008);
        assertThatThrownBy(() -> CudaMemoryPlan.plan(C, request(256 * MIB, 0, 1_000_000_000L)))
                .isInstanceOf(InsufficientGpuMemoryException.class)
                .hasMessageContaining("kv_cache_len 1000000000 does not fit");
    }

    @Test
    void impossibleRequestsAreRefusedByName() {
        assertThatThrownBy(() -> new CudaMemoryPlan.Request(1, 1.5, 0, 8, 32, 4, 16, 2, 256, null, 0))
                .hasMessageContaining("utilization in (0, 1]");
        assertThatThrownBy(() -> new CudaMemoryPlan.Request(1, 0.9, 0, 8, 32, 4, 16, 3, 256, null, 0))
                .hasMessageContaining("kv_cache_dtype");
    }

    @org.junit.jupiter.api.Test
    void decodeGraphsReserveTheirStepBuffersAndOnePaddingBlock() {
        io.twinserve.engine.model.ModelConfig c = io.twinserve.engine.model.write.RandomModel.config(
                io.twinserve.engine.model.Architecture.LLAMA,
                2,
                64,
                96,
                4,
                2,
                16,
                80,
                io.twinserve.engine.model.DType.BF16,
                false,
                1,
                java.util.List.of(2));
        long device = 1L << 30;
        CudaMemoryPlan without =
                CudaMemoryPlan.plan(c, new CudaMemoryPlan.Request(device, 0.5, 2, 8, 32, 4, 16, 2, 256, null, 0));
        CudaMemoryPlan with =
                CudaMemoryPlan.plan(c, new CudaMemoryPlan.Request(device, 0.5, 2, 8, 32, 4, 16, 2, 256, null, 8));
        long block = 16L * CudaMemoryPlan.kvBytesPerToken(c, 2);
        assertThat(with.activationBytes() - without.activationBytes())
                .isEqualTo(CudaMemoryPlan.activationBytes(c, 8, 8, 8) + block + 4 * 8);
        assertThat(with.kvCacheTokens()).isLessThan(without.kvCacheTokens());
    }
}
