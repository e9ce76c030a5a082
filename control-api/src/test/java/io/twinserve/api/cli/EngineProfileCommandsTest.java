package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.engine.backend.cuda.CudaDriver;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** twinserve engine profile and bench engine as a user runs them, on tiny models (never asserting timings). */
class EngineProfileCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void benchEngineReportsCopyBandwidthAndConsistentDecodeFiguresForBothBatches(@TempDir Path cache) throws Exception {
        Cli c = Cli.run("bench", "engine", "--backend", "cpu", "--quick", "--json", "--cache", cache.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        JsonNode r = JSON.readTree(c.out());
        assertThat(r.path("model_reused").asBoolean()).isFalse();
        JsonNode copy = r.path("copy");
        assertThat(copy.path("bytes_per_second").asDouble()).isPositive();
        assertThat(copy.path("convention").asText()).contains("read + write");
        assertThat(copy.path("read_bytes_per_second").asDouble()).isPositive();
        assertThat(copy.path("bytes_per_second").asDouble())
                .isCloseTo(
                        2.0
                                * copy.path("buffer_bytes").asDouble()
                                / copy.path("best_seconds").asDouble(),
                        within(1.0));
        long parameters = r.path("parameters").asLong();
        assertThat(parameters).isPositive();
        // tied embeddings: every parameter is streamed once per decode step, at two bytes
        assertThat(r.path("weight_bytes_per_step").asLong()).isEqualTo(2 * parameters);
        JsonNode decodes = r.path("decodes");
        assertThat(decodes).hasSize(2);
        assertThat(decodes.get(0).path("batch").asInt()).isEqualTo(1);
        assertThat(decodes.get(1).path("batch").asInt()).isEqualTo(32);
        for (JsonNode d : decodes) {
            double stepS = d.path("step_ms_median").asDouble() / 1e3;
            assertThat(stepS).isPositive();
            assertThat(d.path("tokens_per_second").asDouble())
                    .isCloseTo(d.path("batch").asInt() / stepS, within(1e-6 / stepS));
            assertThat(d.path("weight_bytes_per_second").asDouble())
                    .isCloseTo(d.path("weight_bytes_per_step").asDouble() / stepS, within(1.0));
            assertThat(d.path("fraction_of_copy_bandwidth").asDouble())
                    .isCloseTo(
                            d.path("weight_bytes_per_second").asDouble()
                                    / copy.path("bytes_per_second").asDouble(),
                            within(1e-12));
            assertThat(d.path("fraction_of_mapped_weights_read").asDouble())
                    .isCloseTo(
                            d.path("weight_bytes_per_second").asDouble()
                                    / r.path("mapped_weights_read_bytes_per_second")
                                            .asDouble(),
                            within(1e-12));
            assertThat(d.path("fraction_of_read_bandwidth").asDouble())
                    .isCloseTo(
                            d.path("weight_bytes_per_second").asDouble()
                                    / copy.path("read_bytes_per_second").asDouble(),
                            within(1e-12));
            assertThat(d.path("first_context_tokens").asInt())
                    .isEqualTo(r.path("prompt_tokens").asInt());
            assertThat(d.path("last_context_tokens").asInt())
                    .isEqualTo(r.path("prompt_tokens").asInt() + d.path("steps").asInt() - 1);
        }

        // the KV-cache comparison: the float32 cache is the baseline, bf16 takes half its bytes
        JsonNode attention = r.path("attention");
        assertThat(attention).hasSize(2);
        assertThat(attention.get(0).path("kv_dtype").asText()).isEqualTo("f32");
        assertThat(attention.get(0).path("ratio_to_f32").asDouble()).isEqualTo(1.0);
        assertThat(attention.get(1).path("kv_dtype").asText()).isEqualTo("bf16");
        assertThat(attention.get(1).path("kv_cache_bytes").asLong() * 2)
                .isEqualTo(attention.get(0).path("kv_cache_bytes").asLong());
        assertThat(attention.get(1).path("ratio_to_f32").asDouble())
                .isCloseTo(
                        attention.get(1).path("step_ms_median").asDouble()
                                / attention.get(0).path("step_ms_median").asDouble(),
                        within(1e-9));
        for (JsonNode a : attention) {
            assertThat(a.path("batch").asInt()).isEqualTo(4);
            assertThat(a.path("context").asInt()).isEqualTo(64);
            assertThat(a.path("step_ms_median").asDouble()).isPositive();
        }

        Cli table = Cli.run("bench", "engine", "--quick", "--cache", cache.toString(), "--batches", "1,4");
        assertThat(table.exitCode()).as(table.err()).isZero();
        assertThat(table.out())
                .contains("(reused)")
                .contains("STREAM copy")
                .contains("memory read only")
                .contains("the mapped weights of a step")
                .contains("1.00 (baseline)")
                .contains("decode batch 1,")
                .contains("decode batch 4,")
                .doesNotContain("decode batch 32")
                .contains("decode batch 4, ctx 64, f32 KV cache")
                .contains("x f32");
        Cli bad = Cli.run("bench", "engine", "--quick", "--cache", cache.toString(), "--attention", "4");
        assertThat(bad.exitCode()).isEqualTo(1);
        assertThat(bad.err()).contains("--attention takes BATCH,CONTEXT (two numbers), got [4]");
    }

    @Test
    void benchEngineRefusesABackendThatDoesNotExistAsAUsageError() {
        Cli c = Cli.run("bench", "engine", "--backend", "rocm", "--quick");
        assertThat(c.exitCode()).isEqualTo(2);
        assertThat(c.err())
                .contains("--backend: expected cpu, cuda (an NVIDIA GPU) or auto")
                .contains("got 'rocm'");
    }

    @Test
    void withoutAGpuEveryEngineCommandSaysSoInOneLineForCuda(@TempDir Path dir) {
        Assumptions.assumeTrue(
                !CudaDriver.driverLibraryFound(), "an NVIDIA driver is installed here: CUDA does not fail this way");
        String line = "error: CUDA unavailable: libcuda.so.1 not found (no NVIDIA driver on this machine, or not on"
                + " the loader path); use --backend cpu";
        for (String[] args : List.of(
                new String[] {"generate", "--backend", "cuda", "--model", dir.toString(), "--prompt", "hi"},
                new String[] {"model", "logits", "--backend", "cuda", "--model", dir.toString(), "-o", "x.json"},
                new String[] {"bench", "engine", "--backend", "cuda", "--quick"},
                new String[] {"engine", "profile", "--backend", "cuda", "--model", dir.toString(), "-o", "p"},
                new String[] {
                    "engine", "validate", "--backend", "cuda", "--model", dir.toString(), "--profile", "p", "-o", "r"
                })) {
            Cli c = Cli.run(args);
            assertThat(c.exitCode()).as(String.join(" ", args)).isEqualTo(1);
            assertThat(c.err().strip()).as(String.join(" ", args)).isEqualTo(line);
        }
        // auto falls back to the CPU: the command goes on to its own checks (here, a model folder that is empty)
        Cli auto = Cli.run(
                "model",
                "logits",
                "--backend",
                "auto",
                "--model",
                dir.toString(),
                "--tokens",
                "1",
                "-o",
                dir.resolve("l.json").toString());
        assertThat(auto.err()).doesNotContain("CUDA");
    }

    @Test
    void engineProfileWritesAProfileThatWhatIfSimulatesWith(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("tiny-llama");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 2, 128, 256, 4, 2, 32, 512, DType.BF16, true, 1, List.of(2)),
                        5,
                        1),
                model);
        Path profile = dir.resolve("profile");
        Cli p = Cli.run(
                "engine",
                "profile",
                "--model",
                model.toString(),
                "--backend",
                "cpu",
                "-o",
                profile.toString(),
                "--quick",
                "--threads",
                "1");
        assertThat(p.exitCode()).as(p.err()).isZero();
        assertThat(p.out())
                .contains("achieved weight bandwidth")
                .contains("table 1x1 ctx 0")
                .contains("wrote " + profile);
        assertThat(Files.readString(profile.resolve("mlp.csv"))).startsWith("num_tokens,num_tensor_parallel_workers,");

        Path workload = dir.resolve("w.yaml");
        Files.writeString(workload, """
        name: tiny
        seed: 2
        duration_s: 60
        arrivals: {type: poisson, rate_tiers: [0.5]}
        adapters: {count: 2, ranks: [4, 8]}
        lengths: {prompt: {type: lognormal, mean: 100, std: 50}, output: {type: lognormal, mean: 40, std: 20}}
        """);
        Cli w = Cli.run(
                "what-if",
                "--profiles",
                profile.toString(),
                "--deployment",
                profile.resolve("deployment.yaml").toString(),
                "--workload",
                workload.toString(),
                "--json");
        assertThat(w.exitCode()).as(w.err()).isZero();
        JsonNode doc = JSON.readTree(w.out());
        assertThat(doc.path("model").asText()).isEqualTo("tiny-llama");
        assertThat(doc.path("gpu").asText()).startsWith("cpu-");
        assertThat(doc.path("calibration").asText()).startsWith("engine-profile/cpu-");
    }
}
