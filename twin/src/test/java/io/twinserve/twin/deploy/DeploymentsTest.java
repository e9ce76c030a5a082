package io.twinserve.twin.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.HuggingFaceConfigs;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeploymentsTest {
    private static final Profiles PROFILES = Profiles.builtIn();

    private static ResolvedReplica resolve(String yaml) throws IOException {
        return Deployments.resolve(Deployments.parse(yaml, Path.of("d.yaml")), PROFILES);
    }

    @Test
    void anUnknownGpuIsRejectedWithASuggestion() {
        assertThatThrownBy(() -> resolve("model: llama-3.1-8b\ngpu: h100-sxm-80g\n"))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("gpu")
                .hasMessageContaining("unknown GPU 'h100-sxm-80g'; did you mean 'h100-sxm-80gb'?")
                .hasMessageContaining("known: ");
    }

    @Test
    void anUnknownModelIsRejectedWithASuggestion() {
        assertThatThrownBy(() -> resolve("model: llama-3.1-8c\ngpu: h100-sxm-80gb\n"))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("model")
                .hasMessageContaining("unknown model 'llama-3.1-8c'; did you mean 'llama-3.1-8b'?")
                .hasMessageContaining("or the path of a Hugging Face config.json");
    }

    @Test
    void aCalibrationFittedOnAnotherGpuIsRejectedNamingBoth() {
        assertThatThrownBy(() -> resolve("""
        model: llama-3.1-8b
        gpu: h100-sxm-80gb
        perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("perf_model.calibration")
                .hasMessageContaining("'vllm-0.8.5-h100-64gb/llama-3.1-8b' was fitted on GPU h100-64gb")
                .hasMessageContaining("the deployment runs on h100-sxm-80gb");
    }

    @Test
    void aCalibrationFittedForAnotherModelIsRejectedNamingBoth() {
        assertThatThrownBy(() -> resolve("""
        model: llama-3.1-8b
        gpu: h100-64gb
        perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/qwen2.5-7b}
        """))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("was fitted for model qwen2.5-7b")
                .hasMessageContaining("the deployment serves llama-3.1-8b");
    }

    @Test
    void anUnknownCalibrationNamesTheBuiltInOnes() {
        assertThatThrownBy(() -> Deployments.calibration("vllm-0.8.5-h100-64gb/llama-3.1-70b"))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("neither a built-in calibration")
                .hasMessageContaining("vllm-0.8.5-h100-64gb/llama-3.1-8b, vllm-0.8.5-h100-64gb/qwen2.5-7b");
    }

    @Test
    void aMatchingCalibrationSetsTheMemoryModelAndTheSchedulerLimits() throws IOException {
        ResolvedReplica r = resolve("""
        model: llama-3.1-8b
        gpu: h100-64gb
        replica: {max_adapters: 0, max_num_seqs: 64, max_num_batched_tokens: 4096, block_size: 32}
        perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
        """);
        assertThat(r.calibration().name()).isEqualTo("vllm-0.8.5-h100-64gb/llama-3.1-8b");
        // the calibrated activation reserve reproduces vLLM's LoRA-disabled capacity (334,816 tokens at 16 per
        // block) to within a block
        assertThat(r.memory().kvCacheTokens()).isBetween(334_816L - 32, 334_816L + 32);
        assertThat(r.scheduler().kvCacheTokens()).isEqualTo(r.memory().kvCacheTokens());
        assertThat(r.scheduler().maxNumSeqs()).isEqualTo(64);
        assertThat(r.scheduler().maxNumBatchedTokens()).isEqualTo(4096);
        assertThat(r.scheduler().blockSize()).isEqualTo(32);
        assertThat(r.scheduler().maxModelLen()).isEqualTo(131_072);
        assertThat(r.scheduler().maxAdapters()).isZero();
    }

    @Test
    void aDeploymentThatDoesNotFitItsGpuFailsWithTheMemoryError() {
        assertThatThrownBy(() -> resolve("model: llama-3.1-70b\ngpu: l4\n"))
                .isInstanceOf(InsufficientGpuMemoryException.class)
                .hasMessageStartingWith("insufficient GPU memory");
    }

    @Test
    void invalidReplicaKeysNameTheKey() {
        assertThatThrownBy(() -> resolve("model: llama-3.1-8b\ngpu: h100-64gb\nreplica: {tp: 3}\n"))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("tp")
                .hasMessageContaining("power of two");
        assertThatThrownBy(() -> resolve(
                        "model: llama-3.1-8b\ngpu: h100-64gb\nreplica: {max_adapters: 8, max_cpu_adapters: 4}\n"))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("max_cpu_adapters")
                .hasMessageContaining("must be >= max_adapters (8)");
    }

    @Test
    void aTensorParallelismTheModelsHeadsDoNotDivideOverIsRefusedNamingTheHeads() {
        // Qwen2.5-7B: 28 attention heads, 4 KV heads
        assertThatThrownBy(() -> resolve("model: qwen2.5-7b\ngpu: h100-sxm-80gb\nreplica: {tp: 8}\n"))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("replica.tp")
                .hasMessageContaining("28 attention heads, which do not divide over 8 GPUs");
    }

    /**
     * With more GPUs than KV heads each GPU holds one KV head (vLLM replicates them), so a token's K/V per GPU stops
     * shrinking at tp = kv_heads: Llama-3.2-1B (8 KV heads) on 16 GPUs holds as many bytes per token as on 8.
     */
    @Test
    void aTokensKvBytesPerGpuStopShrinkingAtOneKvHeadPerGpu() throws IOException {
        ResolvedReplica eight = resolve("model: llama-3.2-1b\ngpu: h100-sxm-80gb\nreplica: {tp: 8}\n");
        ResolvedReplica sixteen = resolve("model: llama-3.2-1b\ngpu: h100-sxm-80gb\nreplica: {tp: 16}\n");
        long perToken8 = eight.memory().kvCacheBytes() / eight.memory().kvCacheTokens();
        long perToken16 = sixteen.memory().kvCacheBytes() / sixteen.memory().kvCacheTokens();
        assertThat(perToken16).isEqualTo(perToken8);
        assertThat(perToken8).isEqualTo(eight.model().kvBytesPerToken() / 8);
    }

    @Test
    void aCalibrationFileWithANegativeCostNamesTheFileTheLineAndTheKey(@TempDir Path dir) throws IOException {
        String shipped;
        try (var in = Deployments.class.getResourceAsStream(
                "/io/twinserve/twin/calibrations/vllm-0.8.5-h100-64gb/llama-3.1-8b.yaml")) {
            shipped = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        String bad = shipped.replaceFirst("lora_per_slot_ns: [0-9.E]+", "lora_per_slot_ns: -5.0");
        assertThat(bad).isNotEqualTo(shipped);
        Path file = dir.resolve("bad-calibration.yaml");
        Files.writeString(file, bad);
        assertThatThrownBy(() -> Deployments.calibration(file.toString()))
                .isInstanceOf(SpecException.class)
                .hasMessageContaining("bad-calibration.yaml")
                .hasMessageContaining("lora_per_slot_ns is a cost and must be finite and >= 0, got -5.0");
    }

    @Test
    void aHuggingFaceConfigCanNameTheModel(@TempDir Path dir) throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, HuggingFaceConfigs.LLAMA_3_1_8B);
        ResolvedReplica fromFile = resolve("model: " + config + "\ngpu: h100-sxm-80gb\n");
        ResolvedReplica builtIn = resolve("model: llama-3.1-8b\ngpu: h100-sxm-80gb\n");
        assertThat(fromFile.model().totalParams()).isEqualTo(builtIn.model().totalParams());
        assertThat(fromFile.memory()).isEqualTo(builtIn.memory());
    }
}
