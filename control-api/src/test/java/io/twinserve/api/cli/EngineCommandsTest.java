package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.assertj.core.data.Offset;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** model init-random, adapter init-random, model logits and generate, as a user runs them. */
class EngineCommandsTest {

    @Test
    void writesRandomModelAndAdapterThenGeneratesWithAndWithoutTheAdapter(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m");
        Cli init = Cli.run(
                "model",
                "init-random",
                "--arch",
                "llama",
                "--layers",
                "2",
                "--hidden",
                "128",
                "--vocab",
                "400",
                "--shards",
                "2",
                "-o",
                model.toString());
        assertThat(init.exitCode()).as(init.err()).isZero();
        assertThat(init.out()).contains("LlamaForCausalLM, 2 layers, hidden 128, MLP 384, 4 heads (2 KV, dim 32)");
        for (String f : new String[] {
            "config.json",
            "generation_config.json",
            "tokenizer.json",
            "tokenizer_config.json",
            "model.safetensors.index.json",
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors"
        }) {
            assertThat(model.resolve(f)).exists();
        }
        Path adapter = dir.resolve("a");
        Cli ad = Cli.run(
                "adapter",
                "init-random",
                "--base",
                model.toString(),
                "--rank",
                "8",
                "--targets",
                "q_proj,v_proj",
                "-o",
                adapter.toString());
        assertThat(ad.exitCode()).as(ad.err()).isZero();
        JsonNode cfg = new ObjectMapper()
                .readTree(adapter.resolve("adapter_config.json").toFile());
        assertThat(cfg.path("r").asInt()).isEqualTo(8);
        assertThat(cfg.path("target_modules").toString()).isEqualTo("[\"q_proj\",\"v_proj\"]");

        Cli base = Cli.run(
                "generate",
                "--model",
                model.toString(),
                "--prompt",
                "hello world",
                "--max-tokens",
                "12",
                "--ignore-eos");
        assertThat(base.exitCode()).as(base.err()).isZero();
        assertThat(base.err()).contains("request 1: length").contains("12 completion tokens");
        Cli tp2 = Cli.run(
                "generate",
                "--model",
                model.toString(),
                "--prompt",
                "hello world",
                "--max-tokens",
                "12",
                "--ignore-eos",
                "--tp",
                "2");
        assertThat(tp2.exitCode()).as(tp2.err()).isZero();
        assertThat(tp2.out()).as("tp=2 makes the same tokens as tp=1").isEqualTo(base.out());
        Cli withAdapter = Cli.run(
                "generate",
                "--model",
                model.toString(),
                "--adapter",
                "a=" + adapter,
                "--use",
                "a",
                "--prompt",
                "hello world",
                "--prompt",
                "second prompt",
                "--max-tokens",
                "12",
                "--ignore-eos",
                "--chat");
        assertThat(withAdapter.exitCode()).as(withAdapter.err()).isZero();
        assertThat(withAdapter.out()).contains("[1 a] ").contains("[2 a] ");
        assertThat(withAdapter.err()).contains("1 adapter loads from storage");

        Path logits = dir.resolve("logits.json");
        Cli l = Cli.run(
                "model",
                "logits",
                "--model",
                model.toString(),
                "--adapter",
                adapter.toString(),
                "--tokens",
                "1,5,9,300",
                "-o",
                logits.toString());
        assertThat(l.exitCode()).as(l.err()).isZero();
        JsonNode json = new ObjectMapper().readTree(logits.toFile());
        assertThat(json.path("logits")).hasSize(4);
        assertThat(json.path("logits").get(0)).hasSize(400);
    }

    @Test
    void shortDtypeNamesAndChunkedLogitsThatMatchOneStep(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m16");
        Cli init = Cli.run(
                "model",
                "init-random",
                "--layers",
                "2",
                "--hidden",
                "64",
                "--vocab",
                "300",
                "--dtype",
                "f16",
                "--tie-embeddings",
                "-o",
                model.toString());
        assertThat(init.exitCode()).as(init.err()).isZero();
        assertThat(init.out()).contains("F16 weights");
        assertThat(Files.readString(model.resolve("config.json"))).contains("\"torch_dtype\" : \"float16\"");
        Path adapter = dir.resolve("a");
        Cli ad = Cli.run(
                "adapter",
                "init-random",
                "--base",
                model.toString(),
                "--rank",
                "4",
                "--dtype",
                "f32",
                "-o",
                adapter.toString());
        assertThat(ad.exitCode()).as(ad.err()).isZero();

        // one prefill step, chunks of 7 (ragged last), and token-by-token decode over the paged KV cache
        String tokens = "1,5,9,200,17,33,250,2,8,99,120,7,64,31,270,11,3,180,42,77";
        JsonNode[] runs = new JsonNode[3];
        String[] chunks = {"0", "7", "1"};
        for (int i = 0; i < chunks.length; i++) {
            Path out = dir.resolve("l" + i + ".json");
            Cli l = Cli.run(
                    "model",
                    "logits",
                    "--model",
                    model.toString(),
                    "--adapter",
                    adapter.toString(),
                    "--tokens",
                    tokens,
                    "--chunk",
                    chunks[i],
                    "-o",
                    out.toString());
            assertThat(l.exitCode()).as(l.err()).isZero();
            runs[i] = new ObjectMapper().readTree(out.toFile());
        }
        assertThat(runs[1].path("chunk").asInt()).isEqualTo(7);
        assertThat(runs[0].path("logits")).hasSize(20);
        for (int i = 1; i < runs.length; i++) {
            for (int p = 0; p < 20; p++) {
                JsonNode a = runs[0].path("logits").get(p);
                JsonNode b = runs[i].path("logits").get(p);
                assertThat(b).hasSize(300);
                for (int v = 0; v < 300; v++) {
                    assertThat(b.get(v).asDouble())
                            .as("chunk %s position %d token %d", chunks[i], p, v)
                            .isCloseTo(a.get(v).asDouble(), Offset.offset(1e-3));
                }
            }
        }
        Cli bad = Cli.run(
                "model",
                "logits",
                "--model",
                model.toString(),
                "--tokens",
                "1,2",
                "--chunk",
                "-2",
                "-o",
                dir.resolve("x.json").toString());
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("--chunk must be 0 (whole sequence) or positive, got -2");
    }

    @Test
    void unknownAdapterAndBrokenModelGiveClearErrors(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m");
        assertThat(Cli.run(
                                "model",
                                "init-random",
                                "--layers",
                                "1",
                                "--hidden",
                                "32",
                                "--vocab",
                                "300",
                                "-o",
                                model.toString())
                        .exitCode())
                .isZero();
        Cli unknown = Cli.run("generate", "--model", model.toString(), "--use", "nope", "--prompt", "x");
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.err()).contains("adapter 'nope' is not registered");
        Files.delete(model.resolve("model.safetensors"));
        Cli broken = Cli.run("generate", "--model", model.toString(), "--prompt", "x");
        assertThat(broken.exitCode()).isEqualTo(1);
        assertThat(broken.err()).contains("no weights: expected model.safetensors or model.safetensors.index.json");
        Cli arch = Cli.run(
                "model", "init-random", "--arch", "gpt2", "-o", dir.resolve("g").toString());
        assertThat(arch.err()).contains("--arch 'gpt2' is not supported");
    }
}
