package io.twinserve.twin.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.util.Locale;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class MemoryModelTest {
    private static final long MIB = 1L << 20;
    private static final double GIB = 1L << 30;
    /** Llama-3.1-8B: 8,030,261,248 parameters in bf16. */
    private static final long LLAMA_8B_WEIGHT_BYTES = 8_030_261_248L * 2;
    /** K and V of 32 layers x 8 KV heads x 128 dims in bf16. */
    private static final long LLAMA_8B_KV_BYTES_PER_TOKEN = 2L * 32 * 8 * 128 * 2;

    private static Profiles profiles;
    private static ModelProfile llama;
    private static GpuProfile h100;
    private static MemoryCalibration calibrated;

    @BeforeAll
    static void load() throws IOException {
        profiles = Profiles.builtIn();
        llama = profiles.model("llama-3.1-8b");
        h100 = profiles.gpu("h100-64gb");
        calibrated =
                Deployments.calibration("vllm-0.8.5-h100-64gb/llama-3.1-8b").memory();
    }

    private static ReplicaSpec replica(Integer kvCacheLen, int slots, int rank, Integer maxModelLen) {
        return new ReplicaSpec(1, kvCacheLen, 0.9, slots, null, rank, null, 2048, 16, null, null, maxModelLen, null);
    }

    private static String gib(double bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / GIB);
    }

    @Test
    void anExplicitKvCacheThatDoesNotFitStatesEachTermAndTheShortfall() {
        ReplicaSpec r = replica(1_000_000, 0, 16, null);
        InsufficientGpuMemoryException e = catchThrowableOfType(
                InsufficientGpuMemoryException.class, () -> MemoryModel.resolve(llama, h100, r, calibrated));

        long budget = (long) ((long) (63.43 * (1L << 30)) * 0.9);
        long kv = 1_000_000L * LLAMA_8B_KV_BYTES_PER_TOKEN;
        long shortfall = LLAMA_8B_WEIGHT_BYTES + calibrated.activationBytes() + kv - budget;
        assertThat(e.shortfallBytes()).isEqualTo(shortfall);
        assertThat(e.shortfallGib()).isCloseTo(shortfall / GIB, Offset.offset(1e-9));
        assertThat(e.getMessage())
                .startsWith("insufficient GPU memory: kv_cache_len 1000000 does not fit")
                .contains("short by " + gib(shortfall) + " per GPU")
                .contains("budget " + gib(budget) + " = memory x gpu_memory_utilization")
                .contains("weights " + gib(LLAMA_8B_WEIGHT_BYTES))
                .contains("adapter slots 0.00 GiB")
                .contains("activations " + gib(calibrated.activationBytes()))
                .contains("KV cache " + gib(kv) + " for 1,000,000 tokens");
    }

    @Test
    void anExplicitKvCacheThatFitsIsTakenAsGiven() {
        MemoryBreakdown m = MemoryModel.resolve(llama, h100, replica(100_000, 8, 16, null), calibrated);
        assertThat(m.kvCacheTokens()).isEqualTo(100_000);
        assertThat(m.kvCacheBytes()).isEqualTo(100_000L * LLAMA_8B_KV_BYTES_PER_TOKEN);
        assertThat(m.weightBytes()).isEqualTo(LLAMA_8B_WEIGHT_BYTES);
        assertThat(m.usedBytes()).isLessThanOrEqualTo(m.budgetBytes());
    }

    @Test
    void aDerivedKvCacheBelowMaxModelLenRefusesToStart() {
        GpuProfile l4 = profiles.gpu("l4");
        MemoryCalibration defaults = MemoryCalibration.defaults(llama, 2048);
        // LoRA disabled: 19.8 GiB budget - 14.96 GiB weights - the activation reserve leaves ~29k tokens
        ReplicaSpec longContext = replica(null, 0, 16, null);
        InsufficientGpuMemoryException e = catchThrowableOfType(
                InsufficientGpuMemoryException.class, () -> MemoryModel.resolve(llama, l4, longContext, defaults));
        long budget = (long) ((long) (22.0 * (1L << 30)) * 0.9);
        long left = budget - LLAMA_8B_WEIGHT_BYTES - defaults.activationBytes();
        long tokens = left / LLAMA_8B_KV_BYTES_PER_TOKEN / 16 * 16;
        assertThat(e.getMessage())
                .contains("the KV cache left over holds " + tokens
                        + " tokens, fewer than one sequence of max_model_len 131072");
        assertThat(e.shortfallBytes()).isEqualTo((131_072 - tokens) * LLAMA_8B_KV_BYTES_PER_TOKEN);
        assertThat(e.getMessage()).contains("short by " + gib(e.shortfallBytes()));

        // the same GPU starts with a shorter max_model_len, and the KV cache takes what is left in whole blocks
        MemoryBreakdown m = MemoryModel.resolve(llama, l4, replica(null, 0, 16, 8192), defaults);
        assertThat(m.kvCacheTokens()).isEqualTo(tokens).isGreaterThanOrEqualTo(8192);
        assertThat(m.kvCacheTokens() % 16).isZero();
        assertThat(m.budgetBytes() - m.usedBytes()).isBetween(0L, 16 * LLAMA_8B_KV_BYTES_PER_TOKEN - 1);
    }

    @Test
    void aModelWhoseWeightsDoNotFitRefusesToStart() {
        ModelProfile big = profiles.model("llama-3.1-70b");
        MemoryCalibration defaults = MemoryCalibration.defaults(big, 2048);
        InsufficientGpuMemoryException e = catchThrowableOfType(
                InsufficientGpuMemoryException.class,
                () -> MemoryModel.resolve(big, profiles.gpu("h100-sxm-80gb"), replica(null, 0, 16, 8192), defaults));
        assertThat(e.getMessage()).contains("holds 0 tokens");
        // 141 GB of weights on a 71 GiB budget: short by the overflow plus one sequence's KV, not the KV alone
        long budget = (long) ((long) (79.1 * (1L << 30)) * 0.9);
        long overflow = big.weightBytes() + defaults.activationBytes() - budget;
        assertThat(overflow).isPositive();
        assertThat(e.shortfallBytes()).isEqualTo(overflow + 8192 * big.kvBytesPerToken());
        assertThat(e.shortfallGib()).isGreaterThan(60);
    }

    @Test
    void adapterSlotBuffersFollowVllmsStackedLayout() {
        // 8 slots at rank 16: per layer, A and B of q, k, v, o (2 MiB each after rounding), gate and up
        // (2 MiB A, 3.5 -> 4 MiB B) and down (3.5 -> 4 MiB A, 2 MiB B): 34 MiB, times 32 layers
        long tensors = 34 * MIB * 32;
        ReplicaSpec r = replica(null, 8, 16, null);
        assertThat(MemoryModel.adapterSlotBytes(llama, r, calibrated))
                .isEqualTo(calibrated.loraEnabledBytes()
                        + 8 * calibrated.loraSlotBytes()
                        + Math.round(calibrated.loraTensorScale() * tensors));
        assertThat(MemoryModel.adapterSlotBytes(llama, replica(null, 0, 16, null), calibrated))
                .as("LoRA disabled")
                .isZero();
    }

    @Test
    void eachMoreSlotOrRankStepOfTheStudyGridLeavesFewerKvTokens() {
        int[] slots = {0, 8, 16, 32, 64, 128};
        int[] ranks = {8, 16, 32};
        long[][] tokens = new long[slots.length][ranks.length];
        for (int i = 0; i < slots.length; i++) {
            for (int j = 0; j < ranks.length; j++) {
                tokens[i][j] = MemoryModel.resolve(llama, h100, replica(null, slots[i], ranks[j], 8192), calibrated)
                        .kvCacheTokens();
            }
        }
        for (int i = 1; i < slots.length; i++) {
            for (int j = 0; j < ranks.length; j++) {
                assertThat(tokens[i][j])
                        .as("%d slots vs %d at rank %d", slots[i], slots[i - 1], ranks[j])
                        .isLessThan(tokens[i - 1][j]);
                if (j > 0) {
                    assertThat(tokens[i][j])
                            .as("rank %d vs %d with %d slots", ranks[j], ranks[j - 1], slots[i])
                            .isLessThan(tokens[i][j - 1]);
                }
            }
        }
    }
}
