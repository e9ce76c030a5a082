package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The trace commands as a user runs them: outputs, files, exit codes and error messages. */
class TraceCommandsTest {
    private static final Path SMOKE = Path.of("..", "examples", "workloads", "constant-smoke.yaml");
    private static final Path CHAT = Path.of("..", "examples", "workloads", "chat-sessions.yaml");
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void genWritesTheTraceAndPrintsItsStatisticsIdenticallyOnEveryRun(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a.csv");
        Path b = dir.resolve("b.csv");
        Cli first = Cli.run("trace", "gen", SMOKE.toString(), "-o", a.toString());
        Cli second = Cli.run("trace", "gen", SMOKE.toString(), "-o", b.toString());
        assertThat(first.exitCode()).isZero();
        assertThat(first.out())
                .contains("wrote 100 requests")
                .contains("mean rate          10.000 req/s")
                .contains("adapter ranks: [4 of rank 16]");
        assertThat(Files.readAllBytes(b)).isEqualTo(Files.readAllBytes(a));
        assertThat(Files.readAllLines(a))
                .hasSize(101)
                .first()
                .isEqualTo(
                        "id,arrival_ns,session_id,turn,adapter,prompt_tokens,output_tokens,block_size,prefix_hashes");
    }

    @Test
    void statsJsonOfAGeneratedSessionTraceReportsSessionsAndPrefixReuse(@TempDir Path dir) throws Exception {
        Path chat = dir.resolve("chat.jsonl");
        assertThat(Cli.run("trace", "gen", CHAT.toString(), "-o", chat.toString())
                        .exitCode())
                .isZero();
        Cli stats = Cli.run("trace", "stats", "--json", chat.toString());
        assertThat(stats.exitCode()).isZero();
        JsonNode json = JSON.readTree(stats.out());
        assertThat(json.get("requests").asLong()).isGreaterThan(1000);
        assertThat(json.get("sessions").asLong()).isGreaterThan(500);
        assertThat(json.get("prefix_block_size").asInt()).isEqualTo(16);
        assertThat(json.get("prefix_reuse_ratio").asDouble()).isBetween(0.3, 0.95);
        assertThat(json.get("prompt").get("p99").asInt())
                .isGreaterThan(json.get("prompt").get("p50").asInt());
    }

    @Test
    void convertToCsvAndBackKeepsEveryField(@TempDir Path dir) throws Exception {
        Path jsonl = dir.resolve("chat.jsonl");
        Path csv = dir.resolve("chat.csv");
        Path back = dir.resolve("back.jsonl");
        Cli.run("trace", "gen", CHAT.toString(), "-o", jsonl.toString());
        Cli toCsv = Cli.run("trace", "convert", jsonl.toString(), "-o", csv.toString());
        assertThat(toCsv.exitCode()).isZero();
        assertThat(toCsv.out()).startsWith("wrote ").contains("(csv)");
        assertThat(Cli.run("trace", "convert", csv.toString(), "-o", back.toString())
                        .exitCode())
                .isZero();
        assertThat(Files.readAllBytes(back)).isEqualTo(Files.readAllBytes(jsonl));
    }

    @Test
    void convertAssignsAdaptersToARealTraceDeterministically(@TempDir Path dir) throws Exception {
        Path azure = Path.of(getClass().getResource("/azure_head20.csv").toURI());
        Path out1 = dir.resolve("one.csv");
        Path out2 = dir.resolve("two.csv");
        Path spec = Path.of("..", "examples", "workloads", "zipf-adapters.yaml");
        Cli c = Cli.run(
                "trace",
                "convert",
                azure.toString(),
                "-o",
                out1.toString(),
                "--assign-adapters",
                spec.toString(),
                "--time-scale",
                "2");
        assertThat(c.exitCode()).as(c.err()).isZero();
        Cli.run(
                "trace",
                "convert",
                azure.toString(),
                "-o",
                out2.toString(),
                "--assign-adapters",
                spec.toString(),
                "--time-scale",
                "2");
        assertThat(Files.readAllBytes(out2)).isEqualTo(Files.readAllBytes(out1));
        assertThat(Files.readString(out1)).contains(",adapter-0");
        JsonNode stats = JSON.readTree(
                Cli.run("trace", "stats", "--json", out1.toString()).out());
        assertThat(stats.get("requests").asInt()).isEqualTo(20);
        assertThat(stats.get("adapters").size()).isPositive();
    }

    @Test
    void aMalformedLineFailsWithFileLineAndColumnAndSkipBadCountsIt(@TempDir Path dir) throws Exception {
        Path bad = dir.resolve("bad.csv");
        Files.writeString(bad, """
        TIMESTAMP,ContextTokens,GeneratedTokens
        2023-11-16 18:17:03.9799600,4808,10
        2023-11-16 18:17:04.0319600,abc,8
        2023-11-16 18:17:05.0319600,100,8
        """);
        Cli fail = Cli.run("trace", "stats", bad.toString());
        assertThat(fail.exitCode()).isEqualTo(1);
        assertThat(fail.err())
                .startsWith("error: " + bad + ":3:29: ContextTokens: expected a non-negative integer," + " got 'abc'")
                .doesNotContain("Exception")
                .doesNotContain("\tat ");
        Cli skip = Cli.run("trace", "stats", "--skip-bad", "--json", bad.toString());
        assertThat(skip.exitCode()).isZero();
        JsonNode json = JSON.readTree(skip.out());
        assertThat(json.get("requests").asInt()).isEqualTo(2);
        assertThat(json.get("skipped_lines").asInt()).isEqualTo(1);
        assertThat(skip.err()).contains("skipped: " + bad + ":3:29");
    }

    @Test
    void aBadSpecFailsWithItsKeyPathAndNoStackTrace(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("w.yaml");
        Files.writeString(spec, """
        duration_s: 10
        arrivals: {type: poisson, rate: 2}
        lengths:
          prompt: {type: normal, mean: 100, std: -3}
          output: {type: fixed, value: 5}
        """);
        Cli c = Cli.run(
                "trace", "gen", spec.toString(), "-o", dir.resolve("o.csv").toString());
        assertThat(c.exitCode()).isEqualTo(1);
        assertThat(c.err().strip()).isEqualTo("error: " + spec + ":4: lengths.prompt.std must be >= 0, got -3");
    }

    @Test
    void missingFilesAndUnknownFormatsAreClearFailures(@TempDir Path dir) throws Exception {
        Cli missing = Cli.run("trace", "stats", dir.resolve("nope.csv").toString());
        assertThat(missing.exitCode()).isEqualTo(1);
        assertThat(missing.err()).contains("nope.csv: no such trace file");
        Path odd = dir.resolve("odd.txt");
        Files.writeString(odd, "when,what\n1,2\n");
        Cli unknown = Cli.run("trace", "stats", odd.toString());
        assertThat(unknown.exitCode()).isEqualTo(1);
        assertThat(unknown.err()).contains("unknown trace format").contains("azure, mooncake, burstgpt, csv, jsonl");
        Cli badFormat = Cli.run("trace", "stats", "--format", "parquet", odd.toString());
        assertThat(badFormat.exitCode()).isEqualTo(2);
        assertThat(badFormat.err()).contains("unknown trace format 'parquet'; expected one of azure");
    }

    @Test
    void usageErrorsExitWithTwoAndHelpListsExamples() {
        Cli unknownOption = Cli.run("trace", "stats", "--frobnicate", "x.csv");
        assertThat(unknownOption.exitCode()).isEqualTo(2);
        assertThat(unknownOption.err()).contains("Unknown option: '--frobnicate'");
        assertThat(Cli.run("trace", "gen").exitCode()).isEqualTo(2);
        for (String[] cmd : new String[][] {
            {"--help"},
            {"trace", "--help"},
            {"trace", "gen", "--help"},
            {"trace", "stats", "--help"},
            {"trace", "convert", "--help"},
            {"bench", "traces", "--help"}
        }) {
            Cli help = Cli.run(cmd);
            assertThat(help.exitCode()).isZero();
            assertThat(help.out()).contains("Usage: twinserve");
        }
        assertThat(Cli.run("trace", "gen", "--help").out()).contains("Examples:");
    }
}
