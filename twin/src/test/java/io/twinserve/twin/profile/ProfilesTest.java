package io.twinserve.twin.profile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProfilesTest {
    private final Profiles profiles = Profiles.builtIn();

    @Test
    void theBuiltInLlama318bHasItsPublishedParameterCount() {
        ModelProfile m = profiles.model("llama-3.1-8b");
        assertThat(m.totalParams()).isEqualTo(8_030_261_248L);
        assertThat(m.weightBytes()).isEqualTo(2 * 8_030_261_248L);
        assertThat(m.kvBytesPerToken())
                .as("K and V, 32 layers x 8 heads x 128 dims, bf16")
                .isEqualTo(131_072);
    }

    @Test
    void aHuggingFaceConfigGivesTheSameModelAsTheBuiltInProfile(@TempDir Path dir) throws IOException {
        Path folder = Files.createDirectories(dir.resolve("Llama-3.1-8B"));
        Path config = folder.resolve("config.json");
        Files.writeString(config, HuggingFaceConfigs.LLAMA_3_1_8B);
        ModelProfile builtIn = profiles.model("llama-3.1-8b");
        for (ModelProfile fromFile : new ModelProfile[] {
            profiles.model(config.toString()), profiles.model(folder.toString()), Profiles.fromHuggingFaceConfig(config)
        }) {
            assertThat(fromFile.name()).as("named after its folder").isEqualTo("Llama-3.1-8B");
            assertThat(fromFile.totalParams()).isEqualTo(builtIn.totalParams());
            assertThat(fromFile.kvBytesPerToken()).isEqualTo(builtIn.kvBytesPerToken());
            assertThat(fromFile.headDim())
                    .as("hidden_size / heads without head_dim")
                    .isEqualTo(128);
            assertThat(fromFile.maxModelLen()).isEqualTo(builtIn.maxModelLen());
            assertThat(fromFile.dtype()).isEqualTo("bf16");
            assertThat(fromFile.loraParamsPerRank()).isEqualTo(builtIn.loraParamsPerRank());
        }
    }

    @Test
    void aConfigWithoutARequiredKeyNamesTheKeyAndTheFile(@TempDir Path dir) throws IOException {
        Path config = dir.resolve("config.json");
        Files.writeString(config, HuggingFaceConfigs.LLAMA_3_1_8B.replace("\"hidden_size\": 4096,", ""));
        assertThatThrownBy(() -> profiles.model(config.toString()))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining(config.toString())
                .hasMessageContaining("config.json has no integer 'hidden_size'");

        Files.writeString(config, "{ not json");
        assertThatThrownBy(() -> Profiles.fromHuggingFaceConfig(config))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining("not a readable JSON file");
    }

    @Test
    void unknownNamesGetASuggestionAndTheKnownNames() {
        assertThatThrownBy(() -> profiles.gpu("H200"))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining("unknown GPU 'H200'; did you mean 'h200'?")
                .hasMessageContaining("known: a100-sxm-80gb, b200, h100-64gb, h100-sxm-80gb, h200, l4, l40s");
        assertThatThrownBy(() -> profiles.model("qwen2.5-7"))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining("unknown model 'qwen2.5-7'; did you mean 'qwen2.5-7b'?");
        assertThatThrownBy(() -> profiles.gpu("tpu-v5e"))
                .isInstanceOf(ProfileException.class)
                .hasMessageNotContaining("did you mean");
    }

    @Test
    void aFolderOfUserProfilesAddsGpusAndModels(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("gpus-lab.yaml"), """
        lab-gpu:
          memory_gib: 40
          hbm_bandwidth: 1.5e12
          bf16_flops: 300e12
          interconnect_bandwidth: 600e9
          pcie_bandwidth: 32e9
        """);
        Files.writeString(dir.resolve("models-lab.yaml"), """
        tiny:
          layers: 2
          hidden_size: 256
          heads: 4
          kv_heads: 2
          head_dim: 64
          intermediate_size: 512
          vocab_size: 1000
          max_model_len: 2048
        """);
        Profiles p = Profiles.builtIn().withDirectory(dir);
        assertThat(p.gpu("lab-gpu").memoryBytes()).isEqualTo(40L << 30);
        assertThat(p.gpu("lab-gpu").fp8Flops()).isZero();
        assertThat(p.model("tiny").kvBytesPerToken()).isEqualTo(2L * 2 * 2 * 64 * 2);
        assertThat(p.gpu("h100-sxm-80gb")).as("built-ins remain").isNotNull();
    }

    @Test
    void aMalformedUserProfileNamesItsFileAndKey(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("gpus-bad.yaml");
        Files.writeString(
                f,
                "bad-gpu:\n  memory_gib: -1\n  hbm_bandwidth: 1e12\n  bf16_flops: 1e14\n"
                        + "  interconnect_bandwidth: 1e11\n  pcie_bandwidth: 1e10\n");
        assertThatThrownBy(() -> Profiles.builtIn().withDirectory(dir))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("gpu bad-gpu: memory_gib must be > 0, got -1.0");
        Files.writeString(f, "bad-gpu:\n  memory_gib: 80\n");
        assertThatThrownBy(() -> Profiles.builtIn().withDirectory(dir))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining("'hbm_bandwidth' is required");
    }

    @Test
    void aKeyAUserProfileDoesNotReadIsRefusedWithASuggestionNotIgnored(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("gpus-typo.yaml");
        // fp8_flops is optional: misspelt, it would silently price fp8 as bf16
        Files.writeString(
                f,
                "lab-gpu:\n  memory_gib: 80\n  hbm_bandwidth: 3.35e12\n  bf16_flops: 9.9e14\n  fp8_flop: 1.98e15\n"
                        + "  interconnect_bandwidth: 4.5e11\n  pcie_bandwidth: 6.4e10\n");
        assertThatThrownBy(() -> Profiles.builtIn().withDirectory(dir))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining(f.toString())
                .hasMessageContaining("GPU 'lab-gpu': 'fp8_flop' is not a known key; did you mean 'fp8_flops'?");
        Path m = dir.resolve("models-typo.yaml");
        Files.delete(f);
        Files.writeString(
                m,
                "lab-model:\n  layers: 2\n  hidden_size: 64\n  heads: 4\n  kv_heads: 2\n  head_dim: 16\n"
                        + "  intermediate_size: 128\n  vocab_size: 256\n  max_model_len: 512\n  tied_embedding: true\n");
        assertThatThrownBy(() -> Profiles.builtIn().withDirectory(dir))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining(
                        "model 'lab-model': 'tied_embedding' is not a known key; did you mean" + " 'tied_embeddings'?");
        Files.writeString(m, "lab-model:\n  layers: 2\n");
        assertThatThrownBy(() -> Profiles.builtIn().withDirectory(dir))
                .isInstanceOf(ProfileException.class)
                .hasMessageContaining("model 'lab-model': 'hidden_size' is required");
    }
}
