package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.engine.backend.cuda.CudaMemoryPlan;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.profile.Profiles;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code engine kv-capacity}: each row is what the engine's memory plan and the twin's memory model answer. */
class EngineKvCapacityCommandTest {
    static final String LLAMA_8B = """
            {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 4096,
             "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32,
             "num_key_value_heads": 8, "head_dim": 128, "vocab_size": 128256, "rms_norm_eps": 1e-05,
             "rope_theta": 500000.0, "max_position_embeddings": 131072, "tie_word_embeddings": false,
             "torch_dtype": "bfloat16", "hidden_act": "silu"}
            """;

    @Test
    void everyRowIsThePlanAndTheTwinsMemoryModel(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), LLAMA_8B);
        Cli c = Cli.run(
                "engine",
                "kv-capacity",
                "--model",
                dir.toString(),
                "--gpu",
                "h100-sxm-80gb",
                "--slots",
                "0,32",
                "--ranks",
                "16,64",
                "--json");
        assertThat(c.exitCode()).as(c.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(c.out());
        assertThat(doc.path("rows")).hasSize(4);
        ModelConfig config = ModelConfig.read(dir.resolve("config.json"));
        Profiles profiles = Profiles.builtIn();
        for (JsonNode row : doc.path("rows")) {
            int slots = row.path("slots").asInt();
            int rank = row.path("rank").asInt();
            long engine = CudaMemoryPlan.plan(
                            config,
                            new CudaMemoryPlan.Request(
                                    profiles.gpu("h100-sxm-80gb").memoryBytes(),
                                    0.9,
                                    slots,
                                    slots == 0 ? 0 : rank,
                                    2048,
                                    256,
                                    16,
                                    2,
                                    8192,
                                    null,
                                    0))
                    .kvCacheTokens();
            long twin = Deployments.resolve(
                            new DeploymentSpec(
                                    "t",
                                    dir.resolve("config.json").toString(),
                                    "h100-sxm-80gb",
                                    new ReplicaSpec(
                                            1,
                                            null,
                                            0.9,
                                            slots,
                                            Math.max(slots, 1),
                                            rank,
                                            256,
                                            2048,
                                            16,
                                            true,
                                            true,
                                            8192,
                                            null),
                                    null,
                                    null),
                            profiles)
                    .memory()
                    .kvCacheTokens();
            assertThat(row.path("engine").path("kv_tokens").asLong()).isEqualTo(engine);
            assertThat(row.path("twin").path("kv_tokens").asLong()).isEqualTo(twin);
        }
        // more slots at a higher rank leave less for the KV cache, on both sides
        assertThat(doc.path("rows").get(3).path("engine").path("kv_tokens").asLong())
                .isLessThan(
                        doc.path("rows").get(0).path("engine").path("kv_tokens").asLong());
        assertThat(doc.path("rows").get(3).path("twin").path("kv_tokens").asLong())
                .isLessThan(
                        doc.path("rows").get(0).path("twin").path("kv_tokens").asLong());

        Cli table = Cli.run("engine", "kv-capacity", "--model", dir.toString(), "--slots", "8", "--ranks", "16");
        assertThat(table.out())
                .contains("twin tokens")
                .contains("engine tok.")
                .containsPattern("\\s8\\s+16\\s+[0-9,]+");
    }

    @Test
    void aDeviceTooSmallIsRefusedOnTheRowWithTheReason(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("config.json"), LLAMA_8B);
        Cli c = Cli.run(
                "engine",
                "kv-capacity",
                "--model",
                dir.toString(),
                "--device-gib",
                "16",
                "--slots",
                "8",
                "--ranks",
                "16");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out()).contains("refused").contains("fewer than one sequence of max_model_len 8192");
        Cli bad = Cli.run(
                "engine", "kv-capacity", "--model", dir.resolve("nowhere").toString());
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("no config.json there");
    }
}
