package io.twinserve.twin.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ReplicaSpec.Dtype;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import org.junit.jupiter.api.Test;

/** Weights and KV cache stored at the replica's weight_dtype and kv_cache_dtype. */
class MemoryModelDtypeTest {
    private static final Profiles PROFILES = Profiles.builtIn();
    private static final ModelProfile LLAMA = PROFILES.model("llama-3.1-8b");
    private static final GpuProfile H100 = PROFILES.gpu("h100-sxm-80gb");
    private static final MemoryCalibration DEFAULTS = MemoryCalibration.defaults(LLAMA, 2048);

    private static ReplicaSpec replica(Dtype weights, Dtype kvCache, int adapterSlots) {
        return new ReplicaSpec(
                1, null, 0.9, adapterSlots, null, 16, null, 2048, 16, null, null, 8192, null, weights, kvCache, null);
    }

    @Test
    void fp8WeightsHalveTheWeightsAndLeaveTheRestToTheKvCache() {
        MemoryBreakdown bf16 = MemoryModel.resolve(LLAMA, H100, replica(Dtype.AUTO, Dtype.AUTO, 0), DEFAULTS);
        MemoryBreakdown fp8 = MemoryModel.resolve(LLAMA, H100, replica(Dtype.FP8, Dtype.AUTO, 0), DEFAULTS);
        assertThat(fp8.weightBytes()).isEqualTo(bf16.weightBytes() / 2);
        // the KV cache stays at the checkpoint's bf16 (vLLM's kv_cache_dtype auto) and takes the freed bytes
        assertThat(fp8.kvCacheBytes() / fp8.kvCacheTokens()).isEqualTo(LLAMA.kvBytesPerToken());
        long freedTokens = (bf16.weightBytes() - fp8.weightBytes()) / LLAMA.kvBytesPerToken();
        assertThat(fp8.kvCacheTokens() - bf16.kvCacheTokens()).isBetween(freedTokens - 16, freedTokens + 16);
    }

    @Test
    void anFp8KvCacheHoldsTwiceTheTokensInTheSameBytes() {
        MemoryBreakdown bf16 = MemoryModel.resolve(LLAMA, H100, replica(Dtype.AUTO, Dtype.AUTO, 0), DEFAULTS);
        MemoryBreakdown fp8 = MemoryModel.resolve(LLAMA, H100, replica(Dtype.AUTO, Dtype.FP8, 0), DEFAULTS);
        assertThat(fp8.weightBytes()).isEqualTo(bf16.weightBytes());
        assertThat(fp8.kvCacheBytes() / fp8.kvCacheTokens()).isEqualTo(LLAMA.kvBytesPerToken() / 2);
        // both are rounded down to whole blocks of 16 tokens
        assertThat(fp8.kvCacheTokens()).isBetween(2 * bf16.kvCacheTokens(), 2 * bf16.kvCacheTokens() + 16);
        assertThat((double) fp8.kvCacheBytes()).isCloseTo(bf16.kvCacheBytes(), within(16.0 * LLAMA.kvBytesPerToken()));
    }

    @Test
    void adapterSlotsStayAtSixteenBitsWhenTheWeightsAreFp8() {
        MemoryBreakdown bf16 = MemoryModel.resolve(LLAMA, H100, replica(Dtype.AUTO, Dtype.AUTO, 8), DEFAULTS);
        MemoryBreakdown fp8 = MemoryModel.resolve(LLAMA, H100, replica(Dtype.FP8, Dtype.FP8, 8), DEFAULTS);
        assertThat(fp8.adapterSlotBytes()).isPositive().isEqualTo(bf16.adapterSlotBytes());
    }

    @Test
    void theModelMayBePassedAsLoadedOrAsServed() {
        ReplicaSpec r = replica(Dtype.FP8, Dtype.FP8, 4);
        ModelProfile served = r.servedModel(LLAMA);
        assertThat(served.dtype()).isEqualTo("fp8");
        assertThat(served.kvCacheDtype()).isEqualTo("fp8");
        assertThat(r.servedModel(served)).isEqualTo(served);
        assertThat(MemoryModel.resolve(served, H100, r, DEFAULTS))
                .isEqualTo(MemoryModel.resolve(LLAMA, H100, r, DEFAULTS));
    }

    @Test
    void autoKeepsTheCheckpointsDtypesAndTheShorterConstructorMeansAuto() {
        ReplicaSpec r = new ReplicaSpec(1, null, 0.9, 0, null, 16, null, 2048, 16, null, null, 8192, null);
        assertThat(r.weightDtype()).isEqualTo(Dtype.AUTO);
        assertThat(r.kvCacheDtype()).isEqualTo(Dtype.AUTO);
        assertThat(r.speculative()).isNull();
        assertThat(r.servedModel(LLAMA)).isSameAs(LLAMA);
        ModelProfile fp8Weights = replica(Dtype.FP8, Dtype.AUTO, 0).servedModel(LLAMA);
        assertThat(fp8Weights.kvCacheDtype())
                .as("vLLM's auto KV dtype is the checkpoint's, not the quantised weights'")
                .isEqualTo("bf16");
    }
}
