package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The plan-to-engine loop on the CPU backend, CPU-sized: a plan job for a workload of two adapters is applied
 * to a live deployment of a tiny random model while clients keep sending requests (the restart refuses none),
 * the deployment comes back with the plan's settings, and a replay of the workload's arrivals against it
 * serves the plan's predicted throughput within the error the placement model states for throughput.
 */
@ExtendWith(TestServer.Extension.class)
class AutoconfigureLiveTest {
    static final double RATE = 2.0;
    static final int OUTPUT = 16;
    static final int PROMPT = 16;
    /** A prompt of PROMPT token ids, as the workload's fixed prompt length. */
    static final String PROMPT_IDS = java.util.stream.IntStream.range(0, PROMPT)
            .mapToObj(i -> Integer.toString(20 + i))
            .collect(java.util.stream.Collectors.joining(", ", "[", "]"));

    @Test
    void aPlanAppliedToALiveDeploymentLosesNoRequestAndItsReplayMeetsThePlan(TestServer s) throws Exception {
        Path dir = Files.createTempDirectory("twinserve-autoconfigure");
        Path modelDir = dir.resolve("tiny");
        TinyModels.llama(modelDir);
        String model = s.unique("ac-tiny");
        String pool = s.unique("ac-cpu");
        String dep = s.unique("ac-live");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"cpu\"}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"path\": \"" + modelDir + "\"}");
        for (int i = 0; i < 2; i++) {
            Path a = dir.resolve("a" + i);
            TinyModels.cli(
                    "adapter",
                    "init-random",
                    "--base",
                    modelDir.toString(),
                    "--rank",
                    "8",
                    "--seed",
                    "" + (10 + i),
                    "-o",
                    a.toString());
            s.create("/api/models/" + model + "/adapters", "{\"name\": \"a" + i + "\", \"path\": \"" + a + "\"}");
        }
        s.create(
                "/api/deployments",
                "{\"name\": \"" + dep + "\", \"model\": \"" + model + "\", \"mode\": \"live\", \"compute_config\":"
                        + " {\"kv_cache_len\": 1024, \"max_adapters\": 1, \"max_cpu_adapters\": 2},"
                        + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}}");

        // the plan: two adapters at RATE requests/s in all, OUTPUT tokens each, checked by the twin (--verify)
        String workload = "{\"duration_s\": 600, \"arrivals\": {\"type\": \"poisson\", \"rate\": " + RATE + "},"
                + " \"adapters\": {\"count\": 2, \"ranks\": [8]}, \"lengths\": {\"prompt\": {\"type\": \"fixed\","
                + " \"value\": " + PROMPT + "}, \"output\": {\"type\": \"fixed\", \"value\": " + OUTPUT + "}}}";
        TestServer.Reply submitted =
                s.post("/api/plans", s.adminKey(), "{\"workload\": " + workload + ", \"verify\": true}");
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String job = submitted.json().get("id").asText();
        s.get("/api/jobs/" + job + "/events", s.adminKey());
        JsonNode done = s.get("/api/plans/" + job, s.adminKey()).json();
        assertThat(done.path("status").asText()).as(done.toPrettyString()).isEqualTo("succeeded");
        JsonNode result = done.path("result");
        JsonNode plan = result.path("plan");
        double predicted = plan.path("throughput_tps").asDouble();
        double tolerated =
                result.path("verification").path("tolerated_error_pct").asDouble(Double.NaN);
        assertThat(predicted).as(plan.toPrettyString()).isPositive();
        assertThat(tolerated).as(result.toPrettyString()).isBetween(1.0, 10.0);

        // clients that keep sending while the plan is applied
        AtomicBoolean stop = new AtomicBoolean();
        Map<Integer, AtomicLong> statuses = new ConcurrentHashMap<>();
        ExecutorService clients = Executors.newFixedThreadPool(2);
        List<Future<?>> running = new ArrayList<>();
        for (int c = 0; c < 2; c++) {
            int client = c;
            running.add(clients.submit(() -> {
                while (!stop.get()) {
                    var r = s.post(
                            "/v1/completions",
                            s.adminKey(),
                            "{\"model\": \"" + dep + ":a" + client
                                    + "\", \"prompt\": \"keep going\", \"max_tokens\": 4}");
                    statuses.computeIfAbsent(r.status(), k -> new AtomicLong()).incrementAndGet();
                }
                return null;
            }));
        }
        Thread.sleep(500);
        TestServer.Reply applied = s.post(
                "/api/deployments/" + dep + "/autoconfigure",
                s.adminKey(),
                "{\"plan\": \"" + job + "\", \"compute_pools\": [\"" + pool + "\"]}");
        Thread.sleep(500);
        stop.set(true);
        for (Future<?> f : running) {
            f.get();
        }
        clients.shutdown();
        assertThat(applied.status()).as(applied.body()).isEqualTo(200);
        assertThat(statuses.keySet()).as("statuses %s", statuses).containsOnly(200);
        assertThat(statuses.get(200).get()).isGreaterThan(4);
        JsonNode cc = s.get("/api/deployments/" + dep, s.adminKey()).json().path("compute_config");
        assertThat(cc.path("max_adapters").asInt())
                .isEqualTo(plan.path("max_adapters").asInt());
        // the slots at the workload's largest rank, 8 (the deployment was created with the default)
        assertThat(cc.path("max_adapter_rank").asInt()).isEqualTo(8);
        assertThat(cc.path("tp").asInt()).isEqualTo(plan.path("tp").asInt());

        // the workload's arrivals replayed at their rate (evenly, so the offered load is exactly the plan's)
        // 30 s of arrivals, so that the last answer's latency (tens of ms) is a small part of the span
        int n = 60;
        ExecutorService replay = Executors.newFixedThreadPool(8);
        List<Future<Long>> ends = new ArrayList<>();
        long start = System.nanoTime();
        for (int i = 0; i < n; i++) {
            long at = start + (long) (i / RATE * 1e9);
            int adapter = i % 2;
            ends.add(replay.submit(() -> {
                long wait = at - System.nanoTime();
                if (wait > 0) {
                    TimeUnit.NANOSECONDS.sleep(wait);
                }
                var r = s.post(
                        "/v1/completions",
                        s.adminKey(),
                        "{\"model\": \"" + dep + ":a" + adapter + "\", \"prompt\": " + PROMPT_IDS + ", \"max_tokens\": "
                                + OUTPUT + ", \"ignore_eos\": true}");
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                assertThat(r.json().path("usage").path("completion_tokens").asInt())
                        .isEqualTo(OUTPUT);
                assertThat(r.json().path("usage").path("prompt_tokens").asInt()).isEqualTo(PROMPT);
                return System.nanoTime();
            }));
        }
        long last = 0;
        for (Future<Long> f : ends) {
            last = Math.max(last, f.get());
        }
        replay.shutdown();
        // tokens (prompt and output, as the twin and the plan count them) over the replay's span: n arrivals at
        // RATE take n / RATE seconds, the last one's answer ends the span
        double measured = (double) n * (PROMPT + OUTPUT) / ((last - start) / 1e9 + 1 / RATE);
        double offered = RATE * (PROMPT + OUTPUT);
        assertThat(plan.path("offered_tps").asDouble()).isEqualTo(offered);
        System.out.printf(
                "autoconfigure replay: plan %.3f tokens/s (offered %.3f), measured %.3f, tolerated %.2f%%%n",
                predicted, offered, measured, tolerated);
        assertThat(Math.abs(measured - predicted) / predicted * 100).isLessThanOrEqualTo(tolerated);
    }
}
