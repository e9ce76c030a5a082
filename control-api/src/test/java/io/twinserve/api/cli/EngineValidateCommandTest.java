package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** twinserve engine validate as a user runs it, on a tiny model and its quick profile (never asserting errors' size). */
class EngineValidateCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    static Path dir;

    static Path model;
    static Path profile;
    static Path adapterA;
    static Path adapterB;

    @BeforeAll
    static void profileATinyModelWithTwoAdapters() throws Exception {
        model = dir.resolve("tiny-llama");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 2, 64, 128, 4, 2, 16, 300, DType.BF16, true, 1, List.of(2)),
                        5,
                        1),
                model);
        adapterA = dir.resolve("a");
        adapterB = dir.resolve("b");
        assertThat(Cli.run(
                                "adapter",
                                "init-random",
                                "--base",
                                model.toString(),
                                "--rank",
                                "4",
                                "-o",
                                adapterA.toString())
                        .exitCode())
                .isZero();
        assertThat(Cli.run(
                                "adapter",
                                "init-random",
                                "--base",
                                model.toString(),
                                "--rank",
                                "8",
                                "--seed",
                                "2",
                                "-o",
                                adapterB.toString())
                        .exitCode())
                .isZero();
        profile = dir.resolve("profile");
        Cli p = Cli.run(
                "engine",
                "profile",
                "--model",
                model.toString(),
                "-o",
                profile.toString(),
                "--quick",
                "--threads",
                "1");
        assertThat(p.exitCode()).as(p.err()).isZero();
    }

    @Test
    void comparesTheTwinWithTheLiveLoopOnATraceAndWritesBothReports(@TempDir Path out) throws Exception {
        Path trace = out.resolve("trace.csv");
        StringBuilder csv = new StringBuilder(
                "id,arrival_ns,session_id,turn,adapter,prompt_tokens,output_tokens,block_size," + "prefix_hashes\n");
        for (int i = 0; i < 14; i++) {
            csv.append(i)
                    .append(',')
                    .append(i * 40_000_000L)
                    .append(",,,")
                    .append(i % 3 == 0 ? "" : i % 3 == 1 ? "x" : "y")
                    .append(',')
                    .append(6 + i)
                    .append(',')
                    .append(3 + i % 4)
                    .append(",,\n");
        }
        Files.writeString(trace, csv);
        Path report = out.resolve("report");
        Cli c = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--adapter",
                "a=" + adapterA,
                "--adapter",
                "b=" + adapterB,
                "--profile",
                profile.toString(),
                "--workload",
                trace.toString(),
                "--warmup-requests",
                "3",
                "-o",
                report.toString(),
                "--json");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.err()).contains("engine validate: twin: simulating 14 requests");
        JsonNode r = JSON.readTree(c.out());
        assertThat(JSON.readTree(report.resolve("twin-vs-live.json").toFile())).isEqualTo(r);
        assertThat(Files.readString(report.resolve("twin-vs-live.md")))
                .startsWith("# Twin against live: tiny-llama on cpu-");
        long outputTokens = 0;
        for (int i = 0; i < 14; i++) {
            outputTokens += 3 + i % 4;
        }
        for (String side : List.of("twin", "live")) {
            assertThat(r.path(side).path("requests").asInt()).isEqualTo(14);
            assertThat(r.path(side).path("output_tokens").asLong()).isEqualTo(outputTokens);
        }
        for (JsonNode m : r.path("comparison")) {
            double predicted = m.path("predicted").asDouble();
            double measured = m.path("measured").asDouble();
            assertThat(predicted).isPositive();
            assertThat(measured).isPositive();
            assertThat(m.path("relative_error").asDouble())
                    .isCloseTo(Math.abs(predicted - measured) / measured, within(1e-12));
        }
        // the trace's adapters x and y were dealt onto a and b
        assertThat(r.path("notes").toString()).contains("x -> a, y -> b");
        assertThat(r.path("workload").path("adapters").findValuesAsText("name")).containsExactly("a", "b");
        assertThat(r.path("settings").path("threads").asInt()).isEqualTo(1);

        Cli table = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--adapter",
                "a=" + adapterA,
                "--profile",
                profile.toString(),
                "--requests",
                "6",
                "--rate",
                "50",
                "--prompt-tokens",
                "8",
                "--output-tokens",
                "4",
                "--warmup-requests",
                "0",
                "-o",
                out.resolve("table").toString());
        assertThat(table.exitCode()).as(table.err()).isZero();
        assertThat(table.out())
                .contains("twin (predicted) against live (measured)")
                .contains("output_tokens_per_s")
                .contains("6 requests")
                .contains("wrote " + out.resolve("table").resolve("twin-vs-live.md"))
                .contains(out.resolve("table").resolve("live-steps.csv").toString());
    }

    @Test
    void refusesBadInputNamingTheOptionOrFileAndWhatIsExpected(@TempDir Path out) throws Exception {
        Cli badAdapter = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--adapter",
                "nameless",
                "--profile",
                profile.toString(),
                "-o",
                out.toString());
        assertThat(badAdapter.exitCode()).isEqualTo(2);
        assertThat(badAdapter.err()).contains("--adapter").contains("KEY=VALUE");

        Cli notAnAdapter = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--adapter",
                "a=" + model,
                "--profile",
                profile.toString(),
                "-o",
                out.toString());
        assertThat(notAnAdapter.exitCode()).isEqualTo(1);
        assertThat(notAnAdapter.err())
                .contains("--adapter a=" + model)
                .contains("no adapter_config.json")
                .contains("expected a PEFT adapter folder");

        Path partial = Files.createDirectories(out.resolve("partial-profile"));
        for (String f : new String[] {"gpus.yaml", "models.yaml", "mlp.csv", "calibration.yaml"}) {
            Files.copy(profile.resolve(f), partial.resolve(f));
        }
        Cli noDeployment = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--profile",
                partial.toString(),
                "-o",
                out.toString());
        assertThat(noDeployment.exitCode()).isEqualTo(1);
        assertThat(noDeployment.err())
                .contains(partial.resolve("deployment.yaml").toString())
                .contains("no such file")
                .contains("twinserve engine profile");

        Cli both = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--profile",
                profile.toString(),
                "--workload",
                out.resolve("t.csv").toString(),
                "--requests",
                "5",
                "-o",
                out.toString());
        assertThat(both.exitCode()).isEqualTo(2);
        assertThat(both.err()).contains("leave them out with --workload");

        Cli missing = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--profile",
                profile.toString(),
                "--workload",
                out.resolve("t.csv").toString(),
                "-o",
                out.toString());
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains(out.resolve("t.csv").toString()).contains("no such workload file");

        Cli noAdapters = Cli.run(
                "engine",
                "validate",
                "--model",
                model.toString(),
                "--profile",
                profile.toString(),
                "--requests",
                "0",
                "-o",
                out.toString());
        assertThat(noAdapters.exitCode()).isEqualTo(1);
        assertThat(noAdapters.err()).contains("--requests must be >= 1, got 0");
    }
}
