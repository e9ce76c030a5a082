package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** twinserve what-if as a user runs it: the built-in example, JSON, sweeps and bad input. */
class WhatIfCommandTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String SMALL_WORKLOAD = """
      name: small
      seed: 4
      duration_s: 120
      arrivals: {type: poisson, rate_tiers: [0.3, 0.1]}
      adapters: {count: 12, ranks: [8, 16]}
      lengths: {prompt: {type: lognormal, mean: 200, std: 150}, output: {type: lognormal, mean: 150, std: 100}}
      """;

    @Test
    void withNoArgumentsItRunsTheBuiltInStudyExample() {
        Cli c = Cli.run("what-if");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out())
                .contains("workload           study-96-adapters")
                .contains("calibration vllm-0.8.5-h100-64gb/llama-3.1-8b")
                .contains("throughput")
                .contains("starving")
                .contains("TTFT")
                .contains("memory per GPU     budget 57.09 GiB");
    }

    @Test
    void theBuiltInRunIsJudgedAgainstTheSloAndItsMinuteLongWaitsMissIt() {
        Cli c = Cli.run("what-if");
        assertThat(c.exitCode()).as(c.err()).isZero();
        // 32 slots for 96 adapters: it keeps up by the study's test, but TTFT p90 is tens of seconds
        assertThat(c.out())
                .contains("SLO                MISSES")
                .contains("TTFT p90")
                .contains("x the bound")
                .contains("starving           no (the study's test");
        Cli loose = Cli.run("what-if", "--slo", "ttft_p90_ms=off,ttft_p99_ms=off", "--json");
        assertThat(loose.exitCode()).as(loose.err()).isZero();
        assertThat(loose.out()).contains("\"met\" : true");
    }

    @Test
    void rejectedRequestsSayWhatTheyDidNotFit(@TempDir Path dir) throws Exception {
        Path w = dir.resolve("w.yaml");
        Files.writeString(w, SMALL_WORKLOAD);
        Path d = dir.resolve("d.yaml");
        // a KV cache of 64 tokens holds none of these requests
        Files.writeString(
                d,
                "model: llama-3.1-8b\ngpu: h100-64gb\nreplica: {kv_cache_len: 64, max_adapters: 4,"
                        + " max_cpu_adapters: 12}\n");
        Cli c = Cli.run("what-if", "--workload", w.toString(), "--deployment", d.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out())
                .containsPattern("[0-9,]+ rejected \\(longer than max_model_len 131,072 or than the KV cache's 64"
                        + " tokens hold\\)");
    }

    @Test
    void lengthsTheCapsChangeAreWarnedAboutAndOrdinaryOnesAreNot(@TempDir Path dir) throws Exception {
        Path w = dir.resolve("w.yaml");
        // a mean of 5,000 prompt tokens under a cap of 1,024: almost every prompt is clipped
        Files.writeString(
                w,
                SMALL_WORKLOAD.replace(
                        "prompt: {type: lognormal, mean: 200, std: 150}",
                        "prompt: {type: lognormal, mean: 5000, std: 2000}, max_prompt: 1024"));
        Cli c = Cli.run("what-if", "--workload", w.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.err())
                .contains("warning: " + w + ": lengths: ")
                .contains("of the distributions' draws fall outside the caps (prompt 1..1024, output 1..)")
                .contains("are clipped")
                .containsPattern("where the distributions give [45]\\d{3} and 1\\d{2}");
        JsonNode warned = new ObjectMapper()
                .readTree(
                        Cli.run("what-if", "--workload", w.toString(), "--json").out())
                .get("notices");
        assertThat(warned.get(0).get("level").asText()).isEqualTo("warning");
        assertThat(warned.get(0).get("message").asText()).startsWith(w + ": lengths: ");
        Path plain = dir.resolve("plain.yaml");
        Files.writeString(plain, SMALL_WORKLOAD);
        Cli ordinary = Cli.run("what-if", "--workload", plain.toString());
        assertThat(ordinary.exitCode()).as(ordinary.err()).isZero();
        assertThat(ordinary.err()).doesNotContain("warning");
        // the built-in study workload (ShareGPT-like lengths under the benchmark's caps) is not warned about
        assertThat(Cli.run("what-if").err()).doesNotContain("warning");
    }

    @Test
    void theBuiltInDeploymentTakesTheWorkloadsLargestRankAndSaysSo(@TempDir Path dir) throws Exception {
        Path rank64 = dir.resolve("rank64.yaml");
        Files.writeString(rank64, SMALL_WORKLOAD.replace("ranks: [8, 16]", "ranks: [8, 64]"));
        // no deployment given: the defaults serve the workload's rank-64 adapters, with a note
        Cli c = Cli.run("what-if", "--workload", rank64.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.err())
                .contains("note: the workload's adapters go up to rank 64, above the built-in deployment's"
                        + " max_adapter_rank 32: it runs with max_adapter_rank 64");
        assertThat(c.out()).contains("32 adapter slots at rank 64");
        // ranks by weight count too; a workload within rank 32 runs the built-in deployment as it is
        Path weighted = dir.resolve("weighted.yaml");
        Files.writeString(
                weighted, SMALL_WORKLOAD.replace("ranks: [8, 16]", "rank_weights: {16: 0.9, 64: 0.1, 128: 0}"));
        Cli w = Cli.run("what-if", "--workload", weighted.toString());
        assertThat(w.exitCode()).as(w.err()).isZero();
        // (a rank of weight 0 no adapter has)
        assertThat(w.out()).contains("32 adapter slots at rank 64");
        Path small = dir.resolve("small.yaml");
        Files.writeString(small, SMALL_WORKLOAD);
        // a trace's adapters take --adapter-rank
        Path trace = dir.resolve("small.jsonl");
        assertThat(Cli.run("trace", "gen", small.toString(), "-o", trace.toString())
                        .exitCode())
                .isZero();
        Cli t = Cli.run("what-if", "--workload", trace.toString(), "--adapter-rank", "64");
        assertThat(t.exitCode()).as(t.err()).isZero();
        assertThat(t.err()).contains("the workload's adapters go up to rank 64");
        assertThat(t.out()).contains("32 adapter slots at rank 64");
        Cli plain = Cli.run("what-if", "--workload", small.toString());
        assertThat(plain.err()).doesNotContain("max_adapter_rank");
        assertThat(plain.out()).contains("32 adapter slots at rank 32");
        // a sweep of the workload's ranks: every variant runs, on the built-in deployment raised to the largest
        Cli swept =
                Cli.run("what-if", "--workload", small.toString(), "--sweep", "workload.adapters.ranks=[8,16],[8,64]");
        assertThat(swept.exitCode()).as(swept.err()).isZero();
        assertThat(swept.err()).contains("the workload's adapters go up to rank 64");
        assertThat(swept.out() + swept.err()).doesNotContain("above max_adapter_rank");
        // a deployment the user gave is theirs: its rank stands, and the adapters above it are refused by name
        Path deployment = dir.resolve("deployment.yaml");
        Files.writeString(
                deployment,
                new String(WhatIfCommandTest.class
                        .getResourceAsStream("/io/twinserve/experiments/whatif/what-if-deployment.yaml")
                        .readAllBytes()));
        Cli given = Cli.run("what-if", "--workload", rank64.toString(), "--deployment", deployment.toString());
        assertThat(given.exitCode()).isEqualTo(1);
        assertThat(given.err()).contains("has rank 64, above max_adapter_rank 32; raise replica.max_adapter_rank");
    }

    @Test
    void prefixesTheDeploymentWouldNotCacheAreNoted(@TempDir Path dir) throws Exception {
        Path sessions = dir.resolve("sessions.yaml");
        Files.writeString(sessions, SMALL_WORKLOAD + """
                sessions: {turns: {type: uniform, min: 2, max: 4}, think_time_s: {type: exponential, mean: 5}}
                """);
        // the built-in deployment (the study's) has prefix caching off: the sessions' shared prefixes go unused
        Cli off = Cli.run("what-if", "--workload", sessions.toString());
        assertThat(off.exitCode()).as(off.err()).isZero();
        assertThat(off.err())
                .contains("note: " + sessions + ": its multi-turn sessions repeat each earlier turn")
                .contains("<built-in deployment> has replica.prefix_caching: false")
                .contains("(a sweep of replica.prefix_caching=true,false compares)");
        // --json carries it in the run's document, as the API's simulation results do
        JsonNode doc = new ObjectMapper()
                .readTree(Cli.run("what-if", "--workload", sessions.toString(), "--json")
                        .out());
        assertThat(doc.get("notices").get(0).get("level").asText()).isEqualTo("note");
        assertThat(doc.get("notices").get(0).get("message").asText()).contains("replica.prefix_caching: false");
        // a trace of the same workload: its requests carry the hashes, counted
        Path trace = dir.resolve("sessions.jsonl");
        Cli gen = Cli.run("trace", "gen", sessions.toString(), "-o", trace.toString());
        assertThat(gen.exitCode()).as(gen.err()).isZero();
        Cli fromTrace = Cli.run("what-if", "--workload", trace.toString());
        assertThat(fromTrace.exitCode()).as(fromTrace.err()).isZero();
        assertThat(fromTrace.err())
                .containsPattern("note: " + Pattern.quote(trace.toString())
                        + ": [\\d,]+ of its first [\\d,]+ requests carry prefix-block hashes");
        // not when the deployment caches prefixes, when the sweep varies it, or without prefixes
        Path caching = dir.resolve("caching.yaml");
        Files.writeString(
                caching,
                new String(WhatIfCommandTest.class
                                .getResourceAsStream("/io/twinserve/experiments/whatif/what-if-deployment.yaml")
                                .readAllBytes())
                        .replace("prefix_caching: false", "prefix_caching: true"));
        Cli on = Cli.run("what-if", "--workload", sessions.toString(), "--deployment", caching.toString());
        assertThat(on.exitCode()).as(on.err()).isZero();
        assertThat(on.err()).doesNotContain("note:");
        Cli swept =
                Cli.run("what-if", "--workload", sessions.toString(), "--sweep", "replica.prefix_caching=true,false");
        assertThat(swept.exitCode()).as(swept.err()).isZero();
        assertThat(swept.err()).doesNotContain("note:");
        Path plain = dir.resolve("plain.yaml");
        Files.writeString(plain, SMALL_WORKLOAD);
        assertThat(Cli.run("what-if", "--workload", plain.toString()).err()).doesNotContain("note:");
    }

    @Test
    void sloBoundsComeFromTheWorkloadTheDeploymentAndTheCommandLineInThatOrder(@TempDir Path dir) throws Exception {
        Path w = dir.resolve("w.yaml");
        Files.writeString(w, SMALL_WORKLOAD + "slo: {ttft_p90_ms: 0.001, itl_p99_ms: 1000}\n");
        Cli strict = Cli.run("what-if", "--workload", w.toString(), "--json");
        assertThat(strict.exitCode()).as(strict.err()).isZero();
        JsonNode slo = JSON.readTree(strict.out()).get("slo");
        assertThat(slo.get("met").asBoolean()).isFalse();
        assertThat(slo.get("slo").get("ttft_p90_ms").asDouble()).isEqualTo(0.001);
        assertThat(slo.get("slo").get("itl_p99_ms").asDouble()).isEqualTo(1000);
        assertThat(slo.get("slo").get("ttft_p99_ms").asDouble()).as("a default").isEqualTo(5000);
        Cli overridden = Cli.run("what-if", "--workload", w.toString(), "--json", "--slo", "ttft_p90_ms=60000");
        assertThat(JSON.readTree(overridden.out())
                        .get("slo")
                        .get("slo")
                        .get("ttft_p90_ms")
                        .asDouble())
                .isEqualTo(60000);

        Cli none = Cli.run("what-if", "--workload", w.toString(), "--sweep", "replica.max_adapters=2,8");
        assertThat(none.exitCode()).as(none.err()).isZero();
        assertThat(none.out())
                .contains("NO CONFIGURATION MEETS THE SLO")
                .contains("<- closest")
                .doesNotContain("<- best");

        Cli typo = Cli.run("what-if", "--slo", "ttft_p09_ms=100");
        assertThat(typo.exitCode()).isNotZero();
        assertThat(typo.err()).contains("ttft_p09_ms").contains("did you mean 'ttft_p90_ms'");
        Files.writeString(w, SMALL_WORKLOAD + "slo: {ttft_p90_ms: -1}\n");
        Cli negative = Cli.run("what-if", "--workload", w.toString());
        assertThat(negative.exitCode()).isNotZero();
        assertThat(negative.err()).contains("slo.ttft_p90_ms").contains("must be a latency in ms > 0");
    }

    @Test
    void jsonOutputIsByteIdenticalForTheSameInputsAndSeed(@TempDir Path dir) throws Exception {
        Path w = dir.resolve("w.yaml");
        Files.writeString(w, SMALL_WORKLOAD);
        Cli a = Cli.run("what-if", "--workload", w.toString(), "--json");
        Cli b = Cli.run("what-if", "--workload", w.toString(), "--json");
        assertThat(a.exitCode()).as(a.err()).isZero();
        assertThat(b.out()).isEqualTo(a.out());
        JsonNode s = JSON.readTree(a.out()).get("summary");
        assertThat(s.get("requests_arrived").asLong())
                .isEqualTo(s.get("requests_finished").asLong()
                        + s.get("requests_unfinished").asLong()
                        + s.get("requests_rejected").asLong());
        assertThat(Cli.run("what-if", "--workload", w.toString(), "--json", "--seed", "5")
                        .out())
                .isNotEqualTo(a.out());
    }

    @Test
    void requestsOutWritesOneRecordPerRequest(@TempDir Path dir) throws Exception {
        Path w = dir.resolve("w.yaml");
        Files.writeString(w, SMALL_WORKLOAD);
        Path out = dir.resolve("requests.csv");
        Cli c = Cli.run("what-if", "--workload", w.toString(), "--requests-out", out.toString(), "--json");
        assertThat(c.exitCode()).as(c.err()).isZero();
        long arrived =
                JSON.readTree(c.out()).get("summary").get("requests_arrived").asLong();
        assertThat(Files.readAllLines(out))
                .hasSize((int) arrived + 1)
                .first()
                .asString()
                .startsWith("id,adapter,arrival_ns");
    }

    @Test
    void maxOutstandingCapsATraceReplayAndReportsTheClient(@TempDir Path dir) throws Exception {
        Path w = dir.resolve("w.yaml");
        Files.writeString(w, SMALL_WORKLOAD);
        Path trace = dir.resolve("trace.csv");
        assertThat(Cli.run("trace", "gen", w.toString(), "-o", trace.toString()).exitCode())
                .isZero();
        Path out = dir.resolve("requests.csv");
        Cli c = Cli.run(
                "what-if",
                "--workload",
                trace.toString(),
                "--max-outstanding",
                "2",
                "--json",
                "--requests-out",
                out.toString());
        assertThat(c.exitCode()).as(c.err()).isZero();
        JsonNode s = JSON.readTree(c.out()).get("summary");
        assertThat(s.get("client").get("max_outstanding").asInt()).isEqualTo(2);
        assertThat(s.get("client").get("peak_outstanding").asInt()).isLessThanOrEqualTo(2);
        assertThat(s.get("client").get("sent").asLong())
                .isEqualTo(s.get("requests_arrived").asLong());
        assertThat(s.get("ttft_from_intended").get("mean_ms").asDouble())
                .isGreaterThanOrEqualTo(s.get("ttft").get("mean_ms").asDouble());
        assertThat(Files.readAllLines(out).get(0)).startsWith("id,adapter,arrival_ns,intended_ns,");

        Cli text = Cli.run("what-if", "--workload", trace.toString(), "--max-outstanding", "2");
        assertThat(text.out()).contains("TTFT (intended)").contains("open loop, at most 2 outstanding");
        Cli plain = Cli.run("what-if", "--workload", trace.toString(), "--json");
        assertThat(JSON.readTree(plain.out()).get("summary").has("client")).isFalse();
        assertThat(JSON.readTree(plain.out()).get("summary").has("ttft_from_intended"))
                .isFalse();
    }

    @Test
    void maxOutstandingBelowOneIsAUsageError() {
        Cli c = Cli.run("what-if", "--max-outstanding", "0");
        assertThat(c.exitCode()).isEqualTo(2);
        assertThat(c.err()).contains("--max-outstanding must be >= 1, got 0");
    }

    @Test
    void aSweepMarksTheBestAndTheConfigurationsThatDoNotFit(@TempDir Path dir) throws Exception {
        Path w = dir.resolve("w.yaml");
        Files.writeString(w, SMALL_WORKLOAD);
        Cli c = Cli.run(
                "what-if",
                "--workload",
                w.toString(),
                "--sweep",
                "replica.max_adapters=2,8,160",
                "--sweep",
                "replica.max_adapter_rank=16,32");
        assertThat(c.exitCode()).as(c.err()).isZero();
        assertThat(c.out())
                .contains("<- best")
                .contains("does not fit: insufficient GPU memory")
                .contains("best: {replica.max_adapters=");
        Cli json = Cli.run("what-if", "--workload", w.toString(), "--sweep", "replica.max_adapters=2,8", "--json");
        JsonNode arr = JSON.readTree(json.out());
        assertThat(arr.size()).isEqualTo(2);
        int marked = 0;
        for (JsonNode n : arr) {
            marked += n.get("best").asBoolean() || n.get("closest").asBoolean() ? 1 : 0;
            assertThat(n.get("slo").get("checks").size()).isEqualTo(6);
        }
        assertThat(marked).as("one configuration is marked best or closest").isEqualTo(1);
    }

    @Test
    void aBadDeploymentNamesTheKeyPathWithASuggestion(@TempDir Path dir) throws Exception {
        Path d = dir.resolve("d.yaml");
        Files.writeString(d, """
        model: llama-3.1-8b
        gpu: h100-64gb
        replica:
          max_adaptors: 8
        """);
        Cli c = Cli.run("what-if", "--deployment", d.toString());
        assertThat(c.exitCode()).isEqualTo(1);
        assertThat(c.err())
                .contains(d + ":4: replica.max_adaptors is not a known key; did you mean 'max_adapters'?")
                .doesNotContain("Exception");
        Files.writeString(d, "model: llama-3.1-8b\ngpu: h100\n");
        assertThat(Cli.run("what-if", "--deployment", d.toString()).err())
                .contains("gpu unknown GPU 'h100'")
                .contains("known: ");
    }

    @Test
    void anImpossibleDeploymentGetsTheMemoryErrorWithTheShortfall(@TempDir Path dir) throws Exception {
        Path d = dir.resolve("d.yaml");
        Files.writeString(d, """
        model: llama-3.1-70b
        gpu: l4
        """);
        Cli c = Cli.run("what-if", "--deployment", d.toString());
        assertThat(c.exitCode()).isEqualTo(1);
        assertThat(c.err())
                .startsWith("error: insufficient GPU memory")
                .contains("short by")
                .contains("GiB per GPU")
                .contains("weights 131.");
    }

    @Test
    void regressPassesOnTheCommittedGoldens() {
        Cli c = Cli.run("regress", "--dir", "../experiments/regression");
        assertThat(c.exitCode()).as(c.out() + c.err()).isZero();
        assertThat(c.out()).contains("0 differ");
    }
}
