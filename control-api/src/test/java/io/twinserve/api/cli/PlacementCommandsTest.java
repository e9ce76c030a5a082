package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.placement.Labels;
import io.twinserve.placement.Planner;
import io.twinserve.placement.WorkloadRequests;
import io.twinserve.traces.spec.WorkloadSpecs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.assertj.core.data.Percentage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** sweep, sweep merge, train and plan from the command line, as a user runs them. */
class PlacementCommandsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    static final String SPEC = """
      name: cli-small
      seed: 2
      window_s: 600
      models:
        - {model: llama-3.1-8b, calibrations: [vllm-0.8.5-h100-64gb/llama-3.1-8b]}
      served: [16, 64, 128]
      slots: [16, 64]
      rates: [3.2, 1.6, 0.4, 0.1, 0.025, 0.00625]
      ranks: [[8, 16, 32]]
      lengths:
        - name: study
          lengths:
            prompt: {type: lognormal, mean: 223.5, std: 250}
            output: {type: lognormal, mean: 195.7, std: 180}
            min_prompt: 4
            max_prompt: 1024
            min_output: 4
            max_total: 2048
      replica: {max_num_seqs: 2048, prefix_caching: false}
      """;

    /** A 600 s workload of the study's shape: Poisson rate tiers, ranks 8/16/32 round-robin, the study's lengths. */
    private static String studyWorkload(String name, long seed, String rateTiers, int adapters) {
        return """
        name: %s
        seed: %d
        duration_s: 600
        arrivals: {type: poisson, rate_tiers: [%s]}
        adapters: {count: %d, ranks: [8, 16, 32]}
        lengths:
          prompt: {type: lognormal, mean: 223.5, std: 250}
          output: {type: lognormal, mean: 195.7, std: 180}
          min_prompt: 4
          max_prompt: 1024
          min_output: 4
          max_total: 2048
        """.formatted(name, seed, rateTiers, adapters);
    }

    @Test
    void sweepShardsMergeTrainAndPlan(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("spec.yaml");
        Files.writeString(spec, SPEC);
        for (int k = 0; k < 2; k++) {
            Cli c = Cli.run(
                    "sweep", spec.toString(), "-o", dir.resolve("shard-" + k).toString(), "--shard", k + "/2");
            assertThat(c.exitCode()).as(c.err()).isZero();
            assertThat(c.out()).contains("cli-small: 50 scenarios");
        }
        Cli merge = Cli.run(
                "sweep",
                "merge",
                dir.resolve("shard-0").toString(),
                dir.resolve("shard-1").toString(),
                "-o",
                dir.resolve("all").toString());
        assertThat(merge.exitCode()).as(merge.err()).isZero();
        assertThat(merge.out()).contains("merged 2 shards: 100 rows");
        assertThat(Files.readString(dir.resolve("all/provenance.json")))
                .contains("\"spec_sha256\"")
                .contains("\"commit\"");

        Cli train = Cli.run(
                "train",
                dir.resolve("all").toString(),
                "-o",
                dir.resolve("model").toString(),
                "--folds",
                "3");
        assertThat(train.exitCode()).as(train.err()).isZero();
        assertThat(train.out())
                .contains("served")
                .contains("slots")
                .contains("throughput")
                .contains("slo");
        assertThat(Files.readString(dir.resolve("model/model.json"))).contains("\"ttft_p90_ms\" : 2000.0");

        Path workload = dir.resolve("w.yaml");
        Files.writeString(workload, studyWorkload("w", 1, "0.4, 0.1, 0.025", 48));
        Cli plan = Cli.run(
                "plan",
                "--workload",
                workload.toString(),
                "--model",
                dir.resolve("model").toString(),
                "--verify");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        assertThat(plan.out())
                .contains("served adapters per GPU")
                .contains("why (the trees' paths)")
                .contains("verification: one replica of the plan in the twin");
        // a plan the twin meets with fewer than all 48 adapters per GPU is followed by a search for more
        Matcher perGpu = Pattern.compile("served adapters per GPU\\s+(\\d+)").matcher(plan.out());
        assertThat(perGpu.find()).isTrue();
        if (plan.out().contains("SLO: meets") && Integer.parseInt(perGpu.group(1)) < 48) {
            assertThat(plan.out())
                    .contains("twin search for more adapters per GPU")
                    .containsAnyOf(
                            "better configuration:", "no configuration with more adapters per GPU meets the SLO");
        }
        Cli planJson = Cli.run(
                "plan",
                "--workload",
                workload.toString(),
                "--model",
                dir.resolve("model").toString(),
                "--verify",
                "--json");
        assertThat(planJson.exitCode()).as(planJson.err()).isZero();
        JsonNode pj = JSON.readTree(planJson.out());
        assertThat(pj.has("search_up")).isTrue();
        assertThat(pj.has("improved")).isTrue();

        // the same workload as a trace: the plan measures its features (rates, lengths, burstiness) itself
        Path trace = dir.resolve("w.csv");
        Cli gen = Cli.run("trace", "gen", workload.toString(), "-o", trace.toString());
        assertThat(gen.exitCode()).as(gen.err()).isZero();
        Cli fromTrace = Cli.run(
                "plan",
                "--workload",
                trace.toString(),
                "--model",
                dir.resolve("model").toString(),
                "--adapter-rank",
                "16",
                "--json");
        assertThat(fromTrace.exitCode()).as(fromTrace.err()).isZero();
        JsonNode measured = JSON.readTree(fromTrace.out()).get("request");
        assertThat(measured.get("adapters").asInt()).isEqualTo(48);
        // the tiers' rates within the Poisson noise of 10 minutes, the lengths near the spec's log-normal means
        assertThat(measured.get("rates").get(0).asDouble()).isBetween(0.3, 0.55);
        assertThat(measured.get("rates").get(2).asDouble()).isBetween(0.005, 0.05);
        assertThat(measured.get("cv").asDouble()).isBetween(0.85, 1.15);
        assertThat(measured.get("ranks").toString()).isEqualTo("[16,16,16]");
        assertThat(JSON.readTree(fromTrace.out()).get("notes").toString()).contains("measured from the trace");
        // a public trace without adapters (Azure's format) cannot be planned; the error says how to give it some
        Path azure = Files.writeString(dir.resolve("azure.csv"), """
                TIMESTAMP,ContextTokens,GeneratedTokens
                2023-11-16 18:15:46.6805900,374,44
                2023-11-16 18:15:50.9951690,396,109
                2023-11-16 18:15:51.9866350,879,139
                """);
        Cli noAdapters = Cli.run(
                "plan",
                "--workload",
                azure.toString(),
                "--model",
                dir.resolve("model").toString());
        assertThat(noAdapters.exitCode()).isEqualTo(1);
        assertThat(noAdapters.err())
                .contains(azure + ": has 0 requests naming an adapter (and 3 for the base model); a plan needs")
                .contains("twinserve trace convert " + azure + " -o OUT.jsonl --assign-adapters SPEC.yaml");

        // an SLO no configuration meets: the verification says so, searches the twin and fails with --strict
        Cli strict = Cli.run(
                "plan",
                "--workload",
                workload.toString(),
                "--model",
                dir.resolve("model").toString(),
                "--verify",
                "--strict",
                "--slo",
                "ttft_p90_ms=0.001",
                "--search-budget",
                "2");
        assertThat(strict.exitCode()).as(strict.err()).isEqualTo(3);
        assertThat(strict.out())
                .contains("!!! NOT CONFIRMED: the twin's run misses the SLO")
                .containsPattern("twin search around the plan \\(\\d runs?\\)")
                .contains("no configuration of the search meets the SLO within its budget of 2 runs")
                .contains("the model's labels meet TTFT p90 <= 2,000 ms");
        // with the budget to spare, the search goes below the grid's fewest adapters, down to one per GPU, and says
        // that it got there rather than that its budget ran out
        List<String> exhaust = List.of(
                "plan",
                "--workload",
                workload.toString(),
                "--model",
                dir.resolve("model").toString(),
                "--verify",
                "--slo",
                "ttft_p90_ms=0.001",
                "--search-budget",
                "40");
        Cli down = Cli.run(exhaust.toArray(String[]::new));
        assertThat(down.exitCode()).as(down.err()).isZero();
        assertThat(down.out())
                .contains("no configuration meets the SLO, not even one adapter per GPU")
                .doesNotContain("within its budget");
        List<String> asJson = new ArrayList<>(exhaust);
        asJson.add("--json");
        JsonNode downDoc = JSON.readTree(Cli.run(asJson.toArray(String[]::new)).out());
        assertThat(downDoc.get("search_ended").asText()).isEqualTo("one_adapter");
        JsonNode tried = downDoc.get("search");
        assertThat(tried.get(tried.size() - 1).get("served_per_gpu").asInt()).isEqualTo(1);
        assertThat(tried.size()).isLessThan(40);
        asJson.set(asJson.indexOf("40"), "2");
        assertThat(JSON.readTree(Cli.run(asJson.toArray(String[]::new)).out())
                        .get("search_ended")
                        .asText())
                .isEqualTo("budget");

        Cli negative = Cli.run("plan", "--model", dir.resolve("model").toString(), "--feature", "rate_high=-0.8");
        assertThat(negative.exitCode()).as("a usage error").isEqualTo(2);
        assertThat(negative.err()).contains("--feature rate_high: must be a finite number > 0");

        Cli unknown = Cli.run("plan", "--model", dir.resolve("model").toString(), "--feature", "temperature=3");
        assertThat(unknown.exitCode()).as("a usage error").isEqualTo(2);
        assertThat(unknown.err()).contains("unknown feature 'temperature'");

        Files.writeString(dir.resolve("model/served.tribuo"), "not a model");
        Cli corrupt = Cli.run("plan", "--model", dir.resolve("model").toString());
        assertThat(corrupt.exitCode()).isNotZero();
        assertThat(corrupt.err()).contains("served.tribuo").contains("not a readable Tribuo model");
    }

    @Test
    void aZipfWorkloadIsPlannedWithItsSkewAndVerifiedOnItsOwnAdapters(@TempDir Path dir) throws Exception {
        Path workload = Files.writeString(dir.resolve("zipf.yaml"), """
        name: zipf
        seed: 1
        duration_s: 600
        arrivals: {type: poisson, rate: 30}
        adapters: {count: 300, ranks: [8, 16, 32], popularity: {type: zipf, exponent: 1.0}}
        lengths:
          prompt: {type: lognormal, mean: 220, std: 200}
          output: {type: lognormal, mean: 190, std: 150}
        """);
        Cli plan = Cli.run("plan", "--workload", workload.toString(), "--verify", "--search-budget", "0", "--json");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(plan.out());
        double skew = doc.at("/plan/features/skew").asDouble();
        assertThat(skew).isBetween(0.4, 0.95);
        int served = doc.at("/plan/served_per_gpu").asInt();
        assertThat(served).isBetween(1, 299);
        // the verification ran the plan's share of the 300 adapters: its offered load is the share's, not the tiers'
        double share = Arrays.stream(Planner.replicaShare(
                        WorkloadRequests.of(
                                        WorkloadSpecs.load(workload), dir, "llama-3.1-8b", null, Labels.Objective.COST)
                                .perAdapter(),
                        served))
                .sum();
        assertThat(doc.at("/verification/simulated/offered_rps").asDouble())
                .isCloseTo(share, Percentage.withPercentage(8));
        Cli text = Cli.run("plan", "--workload", workload.toString());
        assertThat(text.out()).containsPattern("\\(tiers, skew 0\\.\\d\\d within them\\)");

        Cli bad = Cli.run("plan", "--feature", "tier_skew=1.5");
        assertThat(bad.exitCode()).as("a usage error").isEqualTo(2);
        assertThat(bad.err()).contains("--feature tier_skew: must be an exponent in [0, 1)");
    }

    @Test
    void verifySearchesThePoolsOtherTpAndTakesItWhenItServesMoreAdaptersPerGpu() throws Exception {
        // on the H200 (trained at tp 1 and 2) the trees plan 384 busy adapters at tp 2, whose run misses; the search
        // at tp 2 corrects it to 128 adapters per GPU, the one at tp 1 finds 192
        Cli plan = Cli.run("plan", "--pools", "h200", "--feature", "adapters=384", "--verify", "--json");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(plan.out());
        int tp = doc.at("/plan/tp").asInt();
        JsonNode other = doc.at("/other_tp");
        assertThat(other.size()).isEqualTo(1);
        assertThat(other.get(0).at("/tp").asInt()).isEqualTo(3 - tp);
        assertThat(other.get(0).at("/plan/tp").asInt()).isEqualTo(3 - tp);
        assertThat(other.get(0).at("/run/tp").asInt()).isEqualTo(3 - tp);
        // the search budget (12 by default) counts the searches' runs, the other tp's plan run among them; the
        // verification of the plan is its own
        int runs = doc.at("/search").size() + doc.at("/search_up").size();
        int otherRuns = (other.get(0).at("/run").isNull() ? 0 : 1)
                + other.get(0).at("/around/down").size()
                + other.get(0).at("/around/up").size();
        assertThat(runs + otherRuns)
                .as("the search budget of 12 runs covers both tps")
                .isLessThanOrEqualTo(12);
        JsonNode better = doc.at("/better_tp");
        assertThat(better.isObject()).as(plan.out()).isTrue();
        int betterTp = better.at("/simulated/tp").asInt();
        assertThat(betterTp).isEqualTo(3 - tp);
        double perGpu = better.at("/served_per_gpu").asDouble() / betterTp;
        // the answer at the plan's tp, as plan --verify takes it: the better configuration, the corrected one, the
        // plan's own run when it met the SLO; the other tp's answer serves more adapters per GPU than that
        double atPlanTp = doc.at("/improved").isObject()
                ? doc.at("/improved/served_per_gpu").asDouble()
                : doc.at("/corrected").isObject()
                        ? doc.at("/corrected/served_per_gpu").asDouble()
                        : doc.at("/verification/verdict/met").asBoolean()
                                        && doc.at("/verification/simulated/fits")
                                                .asBoolean()
                                ? doc.at("/plan/served_per_gpu").asDouble()
                                : 0;
        assertThat(perGpu).isGreaterThan(atPlanTp / tp);
        assertThat(better.at("/verdict/met").asBoolean()).isTrue();

        Cli text = Cli.run("plan", "--pools", "h200", "--feature", "adapters=384", "--verify");
        assertThat(text.out())
                .contains("twin search at tp " + (3 - tp) + ", from the trees' plan there")
                .contains("better configuration at tp " + (3 - tp) + ": ")
                .contains(", tp " + (3 - tp) + ", KV")
                .contains("to deploy: " + better.at("/served_per_gpu").asInt() + " adapters per "
                        + (3 - tp == 1 ? "GPU" : "replica of 2 GPUs"))
                .contains("(the better configuration at tp " + (3 - tp) + ", not the trees' plan)");
        assertThat(doc.at("/answer_source").asText()).isEqualTo("better_tp");
        assertThat(doc.at("/answer/tp").asInt()).isEqualTo(3 - tp);
        assertThat(doc.at("/answer/max_adapters").asInt())
                .isEqualTo(better.at("/max_adapters").asInt());
        // the answer is the other tp's plan with the searched configuration, priced by the twin's run of it
        assertThat(doc.at("/answer/kv_cache_len").asInt())
                .isEqualTo(other.get(0).at("/plan/kv_cache_len").asInt());
        assertThat(doc.at("/answer/replicas").asInt())
                .isEqualTo((384 + better.at("/served_per_gpu").asInt() - 1)
                        / better.at("/served_per_gpu").asInt());
        assertThat(doc.at("/answer/throughput_tps").asDouble())
                .isEqualTo(better.at("/simulated/throughput_tps").asDouble());
        assertThat(doc.at("/answer/features/served").asInt())
                .isEqualTo(better.at("/served_per_gpu").asInt());
        assertThat(doc.at("/answer/features/slots").asInt())
                .isEqualTo(better.at("/max_adapters").asInt());
        if (doc.at("/corrected").isObject()) {
            // a configuration at tp 2 counts its adapters per replica of two GPUs
            assertThat(text.out())
                    .containsPattern("corrected configuration: \\d+ adapters per "
                            + (tp == 1 ? "GPU" : "replica of 2 GPUs")
                            + " \\(\\d+ replicas? for 384\\), max_adapters \\d+, tp "
                            + tp + ",");
        }
        // the study's 96 adapters fit one replica at tp 1: at tp 2 they could give fewer per GPU, so tp 2 is not
        // searched
        Cli all = Cli.run("plan", "--pools", "h200", "--verify", "--json");
        JsonNode allDoc = new ObjectMapper().readTree(all.out());
        assertThat(allDoc.at("/plan/served_per_gpu").asInt()).isEqualTo(96);
        assertThat(allDoc.at("/other_tp").size()).isZero();
        assertThat(allDoc.at("/better_tp").isNull()).isTrue();
        assertThat(allDoc.at("/answer_source").asText()).isEqualTo("plan");
        assertThat(allDoc.at("/answer/max_adapters").asInt())
                .isEqualTo(allDoc.at("/plan/max_adapters").asInt());
    }

    @Test
    void aSessionWorkloadIsPlannedFromItsRequestsAndVerifiedOnItsSessions() throws Exception {
        Path chat = Path.of("..", "examples", "workloads", "chat-sessions.yaml");
        Cli plan = Cli.run("plan", "--workload", chat.toString(), "--verify", "--json");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(plan.out());
        assertThat(doc.at("/notes").toString())
                .contains("multi-turn sessions are described by the requests they generate");
        // turns are requests: 2 sessions/s of 1-8 turns, 90% to adapters, is about 8 requests/s in all
        assertThat(doc.at("/plan/features/rates/0").asDouble())
                .isGreaterThan(doc.at("/plan/features/rates/2").asDouble());
        int served = doc.at("/plan/served_per_gpu").asInt();
        // the verification ran the sessions themselves: a one-replica share of the workload's traffic
        double offered = doc.at("/verification/simulated/offered_rps").asDouble();
        assertThat(offered).isGreaterThan(0.5 * 8 * served / 32.0).isLessThan(1.5 * 8);
        // whatever the model guessed, the answer meets the SLO in the twin: the plan's run or the corrected one
        boolean met = doc.at("/verification/verdict/met").asBoolean();
        assertThat(met || doc.at("/corrected/verdict/met").asBoolean())
                .as(plan.out())
                .isTrue();
    }

    /** A copy of {@code from} at {@code to} with each pair of {@code replacements} (text, then its replacement) applied. */
    private static Path variant(Path from, Path to, String... replacements) throws Exception {
        String text = Files.readString(from);
        for (int i = 0; i < replacements.length; i += 2) {
            text = text.replace(replacements[i], replacements[i + 1]);
        }
        Files.writeString(to, text);
        return to;
    }

    @Test
    void aPlanForADeploymentIsVerifiedWithItsReplicaSettings(@TempDir Path dir) throws Exception {
        // the built-in deployment with prefix caching on: the chat sessions' turns reuse the conversation so far,
        // which the training grid's settings (prefix caching off) prefill in full
        Path chat = Path.of("..", "examples", "workloads", "chat-sessions.yaml");
        Path cached = variant(
                Path.of("..", "examples", "deployments", "llama-8b-h100-64gb.yaml"),
                dir.resolve("cached.yaml"),
                "prefix_caching: false",
                "prefix_caching: true");
        Cli on = Cli.run(
                "plan",
                "--workload",
                chat.toString(),
                "--deployment",
                cached.toString(),
                "--verify",
                "--search-budget",
                "0",
                "--json");
        assertThat(on.exitCode()).as(on.err()).isZero();
        Cli grid = Cli.run("plan", "--workload", chat.toString(), "--verify", "--search-budget", "0", "--json");
        assertThat(grid.exitCode()).as(grid.err()).isZero();
        JsonNode withDeployment = new ObjectMapper().readTree(on.out());
        JsonNode withGrid = new ObjectMapper().readTree(grid.out());
        assertThat(withDeployment.get("deployment").asText()).isEqualTo(cached.toString());
        assertThat(withGrid.has("deployment")).isFalse();
        assertThat(withDeployment.get("notes").toString())
                .contains(cached + " differs from the settings the trees were trained with: prefix_caching true"
                        + " (trained false)");
        // the trees answer the same; the twin's run of that answer reuses the prefixes and waits far less (TTFT p90 57
        // against 178 ms with the model rebuilt on four length shapes, whose plan keeps up either way; 10x less with
        // the model before, whose plan queued without the cache)
        assertThat(withDeployment.at("/plan/served_per_gpu").asInt())
                .isEqualTo(withGrid.at("/plan/served_per_gpu").asInt());
        assertThat(withDeployment.at("/plan/max_adapters").asInt())
                .isEqualTo(withGrid.at("/plan/max_adapters").asInt());
        double ttftOn = withDeployment.at("/verification/simulated/ttft_p90_ms").asDouble();
        double ttftGrid = withGrid.at("/verification/simulated/ttft_p90_ms").asDouble();
        assertThat(ttftOn).as("TTFT p90 with prefix caching against without").isLessThan(ttftGrid / 2);
        Cli text = Cli.run("plan", "--workload", chat.toString(), "--deployment", cached.toString());
        assertThat(text.out()).contains("deployment: " + cached + " (its model and GPU; --verify runs the twin");

        // its model is the plan's; a GPU the placement model never saw, or another base model, is refused by name
        Cli qwen = Cli.run(
                "plan",
                "--deployment",
                Path.of("..", "examples", "deployments", "qwen-7b-h100-64gb.yaml")
                        .toString(),
                "--json");
        assertThat(qwen.exitCode()).as(qwen.err()).isZero();
        assertThat(new ObjectMapper().readTree(qwen.out()).at("/plan/model").asText())
                .isEqualTo("qwen2.5-7b");
        assertThat(new ObjectMapper().readTree(qwen.out()).get("notes").toString())
                .doesNotContain("differs from");
        Path l4Spec = variant(
                cached,
                dir.resolve("l4.yaml"),
                "gpu: h100-64gb",
                "gpu: l4",
                "calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b",
                "calibration: null");
        Cli l4 = Cli.run("plan", "--deployment", l4Spec.toString());
        assertThat(l4.exitCode()).isEqualTo(1);
        assertThat(l4.err())
                .contains(l4Spec + " runs on GPU l4, but the placement model (the built-in model) was trained for"
                        + " llama-3.1-8b on pool h100-64gb (GPU h100-64gb), pool h100-sxm-80gb");
        // an H200 is one of Llama's other GPUs: planned there, with their trees, and said so
        Path h200Spec = variant(
                cached,
                dir.resolve("h200.yaml"),
                "gpu: h100-64gb",
                "gpu: h200",
                "calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b",
                "calibration: null");
        Cli h200 = Cli.run("plan", "--deployment", h200Spec.toString(), "--json");
        assertThat(h200.exitCode()).as(h200.err()).isZero();
        JsonNode onH200 = new ObjectMapper().readTree(h200.out());
        assertThat(onH200.at("/plan/pool").asText()).isEqualTo("h200");
        assertThat(onH200.at("/plan/warnings").toString()).contains("h200 is one of the model's other GPUs");
        Cli other = Cli.run("plan", "--deployment", cached.toString(), "--base-model", "qwen2.5-7b");
        assertThat(other.exitCode()).isEqualTo(1);
        assertThat(other.err())
                .contains("base model: the plan asks for qwen2.5-7b, but " + cached + " serves llama-3.1-8b");
        Path seventy = variant(
                cached,
                dir.resolve("seventy.yaml"),
                "model: llama-3.1-8b",
                "model: llama-3.1-70b",
                "calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b",
                "calibration: null");
        Cli untrained = Cli.run("plan", "--deployment", seventy.toString());
        assertThat(untrained.exitCode()).isEqualTo(1);
        assertThat(untrained.err())
                .contains(seventy + " serves llama-3.1-70b, but the placement model (the built-in model) was trained on"
                        + " llama-3.1-8b, qwen2.5-7b");
        // a calibration of another model is one clear error, not every twin run reading as a configuration that fails
        Path mismatched = variant(
                cached,
                dir.resolve("mismatched.yaml"),
                "vllm-0.8.5-h100-64gb/llama-3.1-8b",
                "vllm-0.8.5-h100-64gb/qwen2.5-7b");
        Cli calibration = Cli.run("plan", "--deployment", mismatched.toString(), "--verify");
        assertThat(calibration.exitCode()).isEqualTo(1);
        assertThat(calibration.err())
                .contains("perf_model.calibration vllm-0.8.5-h100-64gb/qwen2.5-7b was fitted for qwen2.5-7b on"
                        + " h100-64gb, but the deployment serves llama-3.1-8b on h100-64gb");
        Cli pool = Cli.run("plan", "--deployment", cached.toString(), "--pools", "h100-64gb,a100");
        assertThat(pool.exitCode()).isEqualTo(1);
        assertThat(pool.err())
                .contains(
                        "pools: a100 is not among the placement model's (pool h100-64gb (GPU h100-64gb), pool h100-sxm-80gb");
        Cli capacity = Cli.run(
                "plan",
                "--capacity",
                Path.of("..", "examples", "capacity", "chat-h100-a100-l40s.yaml")
                        .toString(),
                "--deployment",
                cached.toString());
        assertThat(capacity.exitCode()).isEqualTo(2);
        assertThat(capacity.err()).contains("drop --deployment");
    }

    @Test
    void aClosedLoopWorkloadIsPlannedAtItsUsersRateAndConfirmed() throws Exception {
        Path users = Path.of("..", "examples", "workloads", "closed-loop-users.yaml");
        Cli plan = Cli.run("plan", "--workload", users.toString(), "--verify", "--search-budget", "0");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        assertThat(plan.out())
                .contains(
                        "the client is 32 closed-loop users thinking 2.00 s on average",
                        "the trees read the workload at that rate");
        assertThat(plan.out()).as(plan.out()).contains("confirmed: the twin meets the SLO");
    }

    @Test
    void aPlanWhoseSlotsDoNotFitItsGpuGetsFewerAndSaysSo() throws Exception {
        // rank-64 adapters (the trees saw ranks up to 32): 64 slots of rank 64 leave less KV cache than one
        // max_model_len sequence, so the plan takes the most slots that start, and the twin's run confirms it
        Path bursty = Path.of("..", "examples", "workloads", "bursty-gamma.yaml");
        Cli plan = Cli.run("plan", "--workload", bursty.toString(), "--verify", "--search-budget", "0");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        assertThat(plan.out())
                .contains(
                        "max_adapters lowered from 64 to 32, the most slots of rank 64 that start on h100-64gb",
                        "insufficient GPU memory");
        assertThat(plan.out()).containsPattern("max_adapters \\(slots\\)\\s+32");
        assertThat(plan.out()).doesNotContain("NaN").doesNotContain("does not start");
    }

    @Test
    void constantArrivalsAndOneTokenAnswersAreVerified() throws Exception {
        // constant arrivals (CV 0) were refused by the verification's sweep ("burstiness[0] must be an arrival CV > 0")
        Cli constant = Cli.run(
                "plan",
                "--workload",
                Path.of("..", "examples", "workloads", "constant-smoke.yaml").toString(),
                "--verify",
                "--search-budget",
                "0");
        assertThat(constant.exitCode()).as(constant.err()).isZero();
        assertThat(constant.out()).contains("verification: one replica of the plan in the twin", "SLO: meets");
        // one-token answers have no inter-token gap: the ITL bound holds instead of missing with NaN
        Cli oneToken = Cli.run(
                "plan",
                "--workload",
                Path.of("..", "examples", "workloads", "zipf-adapters.yaml").toString(),
                "--verify",
                "--search-budget",
                "0");
        assertThat(oneToken.exitCode()).as(oneToken.err()).isZero();
        assertThat(oneToken.out()).contains("ITL p99 none measured <= 200 ms").doesNotContain("NaN ms");
    }

    /** plan --capacity answers a capacity spec's question as capacity search does, and its verification agrees. */
    @Test
    void aCapacityPlanAgreesWithCapacitySearch(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("workload.yaml"), studyWorkload("study-192", 5, "0.2, 0.1, 0.05", 192));
        Path spec = Files.writeString(dir.resolve("capacity.yaml"), """
        name: study-192-capacity
        workload: workload.yaml
        model: llama-3.1-8b
        perf_model: {type: roofline, calibration: vllm-0.8.5-h100-64gb/llama-3.1-8b}
        pools:
          - {name: h100, gpu: h100-64gb, gpus_per_node: 8, nodes: 1, cost_per_gpu_hour: 3.0}
          - {name: l4, gpu: l4, gpus_per_node: 8, nodes: 1, cost_per_gpu_hour: 0.8}
        search:
          pools: [h100]
          replicas: [1, 2, 3, 4]
          max_adapters: [32, 64, 96]
          routers: [{type: adapter_affinity}]
        replica: {max_adapter_rank: 32, max_cpu_adapters: 192}
        window_s: 600
        """);
        ObjectMapper json = new ObjectMapper();
        Cli plan = Cli.run("plan", "--capacity", spec.toString(), "--verify", "--json");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        JsonNode best = json.readTree(plan.out()).at("/answer/best");
        assertThat(best.at("/pool").asText()).isEqualTo("h100");
        int replicas = best.at("/replicas").asInt();
        assertThat(replicas).isBetween(1, 4);
        JsonNode v = json.readTree(plan.out()).at("/verification");
        assertThat(v.at("/plan_agrees").asBoolean()).as(plan.out()).isTrue();
        assertThat(v.at("/fewest_replicas").asInt()).isEqualTo(replicas);

        Cli capacity = Cli.run(
                "capacity",
                spec.toString(),
                "--json",
                "--plot",
                dir.resolve("p.png").toString());
        assertThat(capacity.exitCode()).as(capacity.err()).isZero();
        JsonNode cheapest = json.readTree(capacity.out()).at("/candidates/0");
        assertThat(cheapest.at("/meets_target").asBoolean()).isTrue();
        // the same question, the same answer: the cheapest candidate that sustains the target rate
        assertThat(cheapest.at("/candidate/replicas").asInt()).isEqualTo(replicas);
        assertThat(cheapest.at("/candidate/cost_per_hour").asDouble())
                .isEqualTo(best.at("/cost_per_hour").asDouble());

        // a pool whose GPU the model never saw is named, with where its answer comes from
        Cli both = Cli.run(
                "plan",
                "--capacity",
                Files.writeString(
                                dir.resolve("both.yaml"),
                                Files.readString(spec).replace("pools: [h100]", "pools: [h100, l4]"))
                        .toString());
        assertThat(both.out())
                .contains("the placement model was not trained on l4 for llama-3.1-8b (it knows h100-64gb, ")
                .contains("plan: pool h100, " + replicas + " replica");
        // the search allows one tp on an H200 (trained at tp 1 and 2): the plan is at that tp, whatever the tp tree
        // says
        for (int tp : new int[] {1, 2}) {
            Path onH200 = Files.writeString(
                    dir.resolve("h200-tp" + tp + ".yaml"),
                    Files.readString(spec)
                            .replace(
                                    "  - {name: l4, gpu: l4,",
                                    "  - {name: h200, gpu: h200, gpus_per_node: 8, nodes: 1, cost_per_gpu_hour: 3.7}\n"
                                            + "  - {name: l4, gpu: l4,")
                            .replace("pools: [h100]", "pools: [h200]\n  tp: [" + tp + "]"));
            Cli atTp = Cli.run("plan", "--capacity", onH200.toString(), "--json");
            assertThat(atTp.exitCode()).as(atTp.err()).isZero();
            JsonNode poolPlan = json.readTree(atTp.out()).at("/answer/pools/0");
            assertThat(poolPlan.at("/pool").asText()).isEqualTo("h200");
            assertThat(poolPlan.at("/plan/tp").asInt()).as(atTp.out()).isEqualTo(tp);
            assertThat(poolPlan.at("/cost_per_hour").asDouble())
                    .isEqualTo(poolPlan.at("/replicas").asInt() * tp * 3.7, org.assertj.core.data.Offset.offset(1e-9));
            if (poolPlan.at("/note").asText().contains("the search's tp")) {
                assertThat(poolPlan.at("/note").asText())
                        .contains("is not among the search's tp [" + tp + "]: planned at tp " + tp);
            }
            // and on the search's slot counts: the trees' 192 slots are above them all, so the most it lists
            assertThat(poolPlan.at("/plan/max_adapters").asInt()).as(atTp.out()).isEqualTo(96);
            assertThat(poolPlan.at("/note").asText())
                    .contains(
                            "192 slots (the trees') are not among the search's max_adapters [32, 64, 96]: planned on 96,"
                                    + " the most it allows");
        }
        // the search's slot counts bound the plan's as well: 96 slots planned, 64 the most the search allows
        Path fewerSlots = Files.writeString(
                dir.resolve("fewer-slots.yaml"),
                Files.readString(spec).replace("max_adapters: [32, 64, 96]", "max_adapters: [32, 64]"));
        Cli bounded = Cli.run("plan", "--capacity", fewerSlots.toString(), "--json");
        assertThat(bounded.exitCode()).as(bounded.err()).isZero();
        JsonNode boundedPlan = json.readTree(bounded.out()).at("/answer/pools/0");
        assertThat(boundedPlan.at("/plan/max_adapters").asInt())
                .as(bounded.out())
                .isEqualTo(64);
        assertThat(boundedPlan.at("/note").asText())
                .contains("96 slots (the trees') are not among the search's max_adapters [32, 64]: planned on 64, the"
                        + " most it allows");
        // no max_adapters in the search: capacity tries the replica's own (4 by default), and so does the plan
        Path ownSlots = Files.writeString(
                dir.resolve("own-slots.yaml"), Files.readString(spec).replace("  max_adapters: [32, 64, 96]\n", ""));
        JsonNode ownPlan = json.readTree(Cli.run("plan", "--capacity", ownSlots.toString(), "--json")
                        .out())
                .at("/answer/pools/0");
        assertThat(ownPlan.at("/plan/max_adapters").asInt())
                .as(ownPlan.toString())
                .isEqualTo(4);
        assertThat(ownPlan.at("/note").asText()).contains("are not among the search's max_adapters [4]: planned on 4");
        // a search at a tp the model never saw on that GPU (the 64 GB H100: tp 1 only) has no plan to offer there
        Path tp2 = Files.writeString(
                dir.resolve("h100-tp2.yaml"),
                Files.readString(spec).replace("pools: [h100]", "pools: [h100]\n  tp: [2]"));
        Cli none = Cli.run("plan", "--capacity", tp2.toString(), "--json");
        JsonNode nonePlan = json.readTree(none.out()).at("/answer/pools/0");
        assertThat(nonePlan.at("/plan").isNull()).as(none.out()).isTrue();
        assertThat(nonePlan.at("/note").asText())
                .contains(
                        "the search's tp [2] on h100-64gb are none the placement model was trained at there (tp [1])");
        Cli mixed = Cli.run("plan", "--capacity", spec.toString(), "--workload", "x.yaml");
        assertThat(mixed.exitCode()).isEqualTo(2);
        assertThat(mixed.err()).contains("--capacity takes its workload from the capacity spec");
    }

    @Test
    void benchPlansRefusesATablesPathThatIsAFile(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("tables"), "");
        Cli c = Cli.run("bench", "plans", "--held-out", "1", "--tables", file.toString());
        assertThat(c.exitCode()).isNotZero();
        assertThat(c.err()).contains("--tables " + file).contains("is a file; give a folder");
    }

    @Test
    void benchPlansReseedRefusesAnOffsetOfZeroAndACasesFile(@TempDir Path dir) throws Exception {
        Cli zero = Cli.run("bench", "plans", "--held-out", "1", "--reseed", "0");
        assertThat(zero.exitCode()).isEqualTo(2);
        assertThat(zero.err()).contains("--reseed 0 compares each workload's run with itself");
        Cli cases = Cli.run(
                "bench",
                "plans",
                "--held-out",
                "1",
                "--reseed",
                "5",
                "--cases",
                dir.resolve("c.csv").toString());
        assertThat(cases.exitCode()).isEqualTo(2);
        assertThat(cases.err()).contains("--cases writes a model's plans").contains("use --json");
        assertThat(dir.resolve("c.csv")).doesNotExist();
    }

    @Test
    void benchClientsComparesPlansAtTheSustainedRateWithTheOpenLoopBaseline() throws Exception {
        Cli c = Cli.run("bench", "clients", "--workloads", "6", "--json");
        assertThat(c.exitCode()).as(c.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(c.out());
        assertThat(doc.at("/cases")).hasSize(6);
        // the first draw is a closed loop of 8 users thinking 1 s: planned at the arrival process's rate, its
        // prediction is far above the twin's run; planned at the users' rate, close to it
        assertThat(doc.at("/cases/0/closed_loop").asBoolean()).isTrue();
        assertThat(doc.at("/cases/0/scale").asDouble()).isLessThan(0.6);
        assertThat(Math.abs(doc.at("/cases/0/error_pct").asDouble())).isLessThan(5);
        assertThat(doc.at("/cases/0/open_loop_error_pct").asDouble()).isGreaterThan(50);
        assertThat(doc.at("/mean_abs_error_pct").asDouble())
                .isLessThan(doc.at("/open_loop_mean_abs_error_pct").asDouble());
        Cli bad = Cli.run("bench", "clients", "--workloads", "0");
        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("--workloads must be >= 1, got 0");
    }

    /** A sweep that stopped its families after their first miss trains for its SLO or a stricter one, never a looser. */
    @Test
    void aSweepStoppedAtItsMissesRefusesALooserSlo(@TempDir Path dir) throws Exception {
        Path spec = dir.resolve("spec.yaml");
        Files.writeString(spec, SPEC.replace("window_s: 600", "window_s: 600\nstop_after_miss: 0"));
        Cli sweep = Cli.run("sweep", spec.toString(), "-o", dir.resolve("early").toString());
        assertThat(sweep.exitCode()).as(sweep.err()).isZero();
        assertThat(sweep.out())
                .containsPattern("[0-9,]+ more scenarios skipped: served counts past 0 after each family's"
                        + " first that misses the SLO");
        assertThat(JSON.readTree(dir.resolve("early/provenance.json").toFile())
                        .get("skipped")
                        .asLong())
                .isPositive();

        Cli looser = Cli.run(
                "train",
                dir.resolve("early").toString(),
                "-o",
                dir.resolve("m1").toString(),
                "--folds",
                "3",
                "--slo",
                "itl_p99_ms=400");
        assertThat(looser.exitCode()).isNotZero();
        assertThat(looser.err())
                .contains(dir.resolve("early").toString())
                .contains("stop_after_miss")
                .contains("itl_p99_ms is looser");
        Cli stricter = Cli.run(
                "train",
                dir.resolve("early").toString(),
                "-o",
                dir.resolve("m2").toString(),
                "--folds",
                "3",
                "--slo",
                "ttft_p90_ms=1000");
        assertThat(stricter.exitCode()).as(stricter.err()).isZero();
        assertThat(Files.readString(dir.resolve("m2/model.json"))).contains("\"refit_on_every_workload\" : true");
    }

    /**
     * The README's three answers for the built-in workload agree: the answer of {@code plan --verify} (the
     * plan when the twin confirms it, otherwise the corrected configuration of its twin search) meets the
     * SLO, a what-if sweep of the slot counts at its served adapters marks its slot count best or the grid value
     * below it (the labels' rule: the fewest slots within 1% of the best throughput; the plan rounds up), and the
     * built-in deployment misses the SLO unless it holds that many slots.
     */
    @Test
    void whatIfItsSweepAndPlanVerifyAgreeOnTheBuiltInWorkload() throws Exception {
        Cli plan = Cli.run("plan", "--verify", "--json");
        assertThat(plan.exitCode()).as(plan.out() + plan.err()).isZero();
        JsonNode doc = JSON.readTree(plan.out());
        boolean confirmed = doc.get("confirmed").asBoolean();
        JsonNode answer = confirmed ? doc.get("plan") : doc.get("corrected");
        assertThat(answer.isNull())
                .as("a confirmed plan or a corrected configuration: " + plan.out())
                .isFalse();
        int served = answer.get("served_per_gpu").asInt();
        int slots = answer.get("max_adapters").asInt();
        Cli strict = Cli.run("plan", "--verify", "--strict", "--json");
        assertThat(strict.exitCode()).isEqualTo(confirmed ? 0 : 3);
        List<String> grid = new ArrayList<>();
        for (int g : new int[] {16, 32, 64, 96, 128, 160, 192, 256, 320, 384}) {
            if (g <= served) {
                grid.add(Integer.toString(g));
            }
        }
        Cli sweep = Cli.run(
                "what-if",
                "--sweep",
                "workload.adapters.count=" + served,
                "--sweep",
                "replica.max_adapters=" + String.join(",", grid),
                "--json");
        assertThat(sweep.exitCode()).as(sweep.err()).isZero();
        int best = -1;
        double bestTps = 0;
        JsonNode planned = null;
        for (JsonNode run : JSON.readTree(sweep.out())) {
            int s = run.get("settings").get("replica.max_adapters").asInt();
            if (run.get("best").asBoolean()) {
                best = s;
                bestTps = run.get("summary")
                        .get("achieved")
                        .get("total_tokens_per_s")
                        .asDouble();
            }
            if (s == slots) {
                planned = run;
            }
        }
        // the sweep's best is the fewest slots that meet the SLO within 1% of the best throughput (the labels' rule);
        // the plan rounds the slots tree's count up to the grid and may keep one grid step more (its slot margin): the
        // same served count, on the sweep's best slot count or the next one of the grid, which meets the SLO too and
        // serves as much
        assertThat(best).as("the sweep has a best slot count").isPositive();
        int bestIndex = grid.indexOf(Integer.toString(best));
        List<Integer> agreeing = new ArrayList<>(List.of(best));
        if (bestIndex + 1 < grid.size()) {
            agreeing.add(Integer.parseInt(grid.get(bestIndex + 1)));
        }
        assertThat(slots)
                .as("the plan's slots against the sweep's best, " + best)
                .isIn(agreeing);
        assertThat(planned).as("the sweep ran the plan's slot count").isNotNull();
        assertThat(planned.get("slo").get("met").asBoolean())
                .as("the plan's configuration meets the SLO in the sweep")
                .isTrue();
        assertThat(planned.get("summary")
                        .get("achieved")
                        .get("total_tokens_per_s")
                        .asDouble())
                .as("the plan's configuration serves within the sweep's 1% of its best")
                .isGreaterThanOrEqualTo(0.99 * bestTps);
        Cli builtIn = Cli.run("what-if", "--json");
        JsonNode verdict = JSON.readTree(builtIn.out()).get("slo");
        assertThat(verdict.get("met").asBoolean())
                .as("the built-in deployment (32 slots)")
                .isEqualTo(slots <= 32);
    }

    @Test
    void shippedModelPlansTheBuiltInWorkload() {
        Cli plan = Cli.run("plan", "--json");
        assertThat(plan.exitCode()).as(plan.err()).isZero();
        assertThat(plan.out())
                .contains("\"served_per_gpu\"")
                .contains("\"max_adapters\"")
                .contains("\"throughput_tps\"");
    }
}
