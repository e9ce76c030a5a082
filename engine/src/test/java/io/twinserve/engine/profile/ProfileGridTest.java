package io.twinserve.engine.profile;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.backend.cuda.CudaMemoryPlan;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.write.RandomModel;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The GPU grid of `engine profile --backend cuda` (issue 21): what it times, and that it fits the cards it is for. */
class ProfileGridTest {

    @Test
    void theGpuGridHoldsTheShapesTheTwinPricesAndFitsAnEightyGigabyteCardBesideAnEightBModel() {
        ProfileGrid g = ProfileGrid.gpu();
        assertThat(g.decodeBatches()).contains(1, 8, 64);
        assertThat(g.contextTokens()).contains(1024);
        assertThat(g.prefillChunks()).contains(512, 2048);
        assertThat(g.adapterCounts()).contains(1, 8, 32);
        assertThat(g.ranks()).contains(16);
        // Llama-3.1-8B's shape
        ModelConfig c = RandomModel.config(
                Architecture.LLAMA, 32, 4096, 14336, 32, 8, 128, 128256, DType.BF16, false, 1, List.of(2));
        int tokens = Math.max(g.tokenCounts().getLast(), g.prefillChunks().getLast());
        int sequences = EngineProfiler.maxSequences(g);
        long kv = EngineProfiler.kvTokensNeeded(g);
        assertThat(kv).isGreaterThanOrEqualTo(128L * 2048);
        CudaMemoryPlan plan = CudaMemoryPlan.plan(
                c,
                new CudaMemoryPlan.Request(
                        80_000_000_000L,
                        0.9,
                        g.maxAdapters(),
                        g.maxRank(),
                        Math.max(tokens, sequences),
                        sequences,
                        EngineProfiler.BLOCK_SIZE,
                        2,
                        0,
                        kv,
                        0));
        assertThat(plan.usedBytes()).isLessThanOrEqualTo(72_000_000_000L);
    }
}
