package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Shadow mode on the CPU backend: two live deployments of one tiny random model, each with its twin priced
 * by the model's quick engine profile, take the same traffic; one is slowed on purpose (fault injection, 40
 * ms after every step). The slowed one's drift alarm fires (metric, event, the shadow endpoint, with its
 * cause); the other's does not, while its windows are judged with both sides' figures.
 */
@ExtendWith(TestServer.Extension.class)
class ShadowModeTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static TestServer server;
    private static Path profile;
    private static String model;
    private static String pool;

    @BeforeAll
    static void setUp(TestServer s) throws Exception {
        server = s;
        Path dir = Files.createTempDirectory("twinserve-shadow");
        Path modelDir = dir.resolve("tiny");
        TinyModels.llama(modelDir);
        profile = dir.resolve("profile");
        TinyModels.cli(
                "engine",
                "profile",
                "--model",
                modelDir.toString(),
                "--backend",
                "cpu",
                "--threads",
                "1",
                "--quick",
                "-o",
                profile.toString());
        model = s.unique("shadow-tiny");
        pool = s.unique("shadow-cpu");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"cpu\"}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"path\": \"" + modelDir + "\"}");
    }

    private static String deployment(String name, String extra) {
        return "{\"name\": \"" + name + "\", \"model\": \"" + model + "\", \"mode\": \"live\", \"compute_config\":"
                + " {\"kv_cache_len\": 2048, \"max_adapters\": 1, \"max_cpu_adapters\": 1" + extra + "},"
                + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}}";
    }

    private static String shadow() {
        // windows of 2 s; judged on a factor of 10 either way, so that a busy test machine's jitter is not drift
        // and 40 ms a step (against a fraction of a millisecond) is
        return ", \"shadow\": {\"profile\": \"" + profile + "\", \"window_s\": 2, \"warmup_windows\": 1,"
                + " \"drift_bound\": 9, \"drift_windows\": 2, \"settle_s\": 20, \"min_requests\": 3}";
    }

    @Test
    void aSlowedDeploymentRaisesItsDriftAlarmAndTheOtherDoesNot() throws Exception {
        String ok = server.unique("shadow-ok");
        String slow = server.unique("shadow-slow");
        server.create("/api/deployments", deployment(ok, shadow()));
        server.create("/api/deployments", deployment(slow, shadow() + ", \"fault\": {\"step_delay_ms\": 40}"));

        // closed-loop traffic, two clients per deployment, for about 12 s
        ExecutorService clients = Executors.newFixedThreadPool(4);
        AtomicInteger answered = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(12);
        List<Future<?>> done = new ArrayList<>();
        for (String d : List.of(ok, ok, slow, slow)) {
            done.add(clients.submit(() -> {
                while (System.nanoTime() < until) {
                    var r = server.post(
                            "/v1/completions",
                            server.adminKey(),
                            "{\"model\": \"" + d + "\", \"prompt\": \"the shadow twin watches\", \"max_tokens\": 8}");
                    (r.status() == 200 ? answered : refused).incrementAndGet();
                    Thread.sleep(20);
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get();
        }
        clients.shutdown();
        assertThat(refused.get()).isZero();
        assertThat(answered.get()).isGreaterThan(40);

        JsonNode okShadow = judgedWindows(ok, 4);
        JsonNode slowShadow = judgedWindows(slow, 2);
        JsonNode slowAlarm = waitFor(slow, n -> n.path("alarm").path("active").asBoolean());

        assertThat(okShadow.path("enabled").asBoolean()).isTrue();
        assertThat(okShadow.path("alarm").path("active").asBoolean())
                .as(okShadow.toPrettyString())
                .isFalse();
        assertThat(okShadow.path("events")).as(okShadow.toPrettyString()).isEmpty();
        for (JsonNode w : okShadow.path("windows")) {
            if (w.path("judged").asBoolean()) {
                System.out.printf(
                        "shadow window %d: %d requests, errors %s%n",
                        w.path("index").asInt(),
                        w.path("measured").path("requests").asInt(),
                        w.path("errors"));
                assertThat(w.path("drifting").asBoolean())
                        .as(w.toPrettyString())
                        .isFalse();
                assertThat(w.path("measured").path("requests").asInt())
                        .isEqualTo(w.path("predicted").path("requests").asInt())
                        .isGreaterThanOrEqualTo(3);
                assertThat(w.path("predicted").path("itl_mean_ms").isNumber()).isTrue();
                assertThat(w.path("errors").path("throughput").isNumber()).isTrue();
            }
        }

        assertThat(slowShadow.path("windows")).isNotEmpty();
        JsonNode alarm = slowAlarm.path("alarm");
        // drifting from its first judged window: nothing to compare the workload with, so the profile is named
        assertThat(alarm.path("cause").asText()).isEqualTo("profile");
        assertThat(alarm.path("detail").asText()).contains("itl_mean predicted").contains("twinserve engine profile");
        assertThat(slowAlarm.path("events")).anySatisfy(e -> {
            assertThat(e.path("kind").asText()).isEqualTo("raised");
            assertThat(e.path("cause").asText()).isEqualTo("profile");
        });
        assertThat(slowAlarm.path("alarms_raised").asLong()).isEqualTo(1);

        String metrics = server.get("/metrics", server.adminKey()).body();
        assertThat(metrics)
                .contains("twinserve_shadow_drift_alarm{deployment=\"" + slow + "\"} 1.0")
                .contains("twinserve_shadow_drift_alarm{deployment=\"" + ok + "\"} 0.0")
                .contains("twinserve_shadow_drift_alarms_total{deployment=\"" + slow + "\"} 1.0")
                .contains("twinserve_shadow_predicted{deployment=\"" + ok + "\",figure=\"itl_mean\"}")
                .contains("twinserve_shadow_measured{deployment=\"" + slow + "\",figure=\"itl_mean\"}");
    }

    @Test
    void shadowSettingsAreCheckedWhenTheDeploymentIsCreated() {
        String name = server.unique("shadow-bad");
        var r = server.post("/api/deployments", server.adminKey(), deployment(name, ", \"shadow\": true"));
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo("compute_config.shadow.profile");
        assertThat(r.error().path("message").asText()).contains("required for a live deployment's shadow twin");

        r = server.post(
                "/api/deployments",
                server.adminKey(),
                deployment(name, ", \"shadow\": {\"profile\": \"" + profile + "\", \"window\": 5}"));
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo("compute_config.shadow.window");
        assertThat(r.error().path("message").asText())
                .contains("is not a known key")
                .contains("window_s");

        r = server.post(
                "/api/deployments", server.adminKey(), deployment(name, ", \"fault\": {\"step_delay_ms\": -5}"));
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo("compute_config.fault.step_delay_ms");

        r = server.post(
                "/api/deployments",
                server.adminKey(),
                deployment(name, ", \"shadow\": {\"profile\": \"/no/such/profile\"}"));
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo("compute_config.shadow.profile");
        assertThat(r.error().path("message").asText()).contains("/no/such/profile");

        // without shadow mode the endpoint says so
        String plain = server.unique("shadow-off");
        server.create("/api/deployments", deployment(plain, ""));
        JsonNode off = read(server.get("/api/deployments/" + plain + "/shadow", server.adminKey())
                .body());
        assertThat(off.path("enabled").asBoolean()).isFalse();
        assertThat(server.get("/api/deployments/" + plain + "/shadow?windows=0", server.adminKey())
                        .status())
                .isEqualTo(400);
    }

    private static JsonNode judgedWindows(String d, int n) throws Exception {
        return waitFor(d, s -> {
            int judged = 0;
            for (JsonNode w : s.path("windows")) {
                judged += w.path("judged").asBoolean() ? 1 : 0;
            }
            return judged >= n;
        });
    }

    private static JsonNode waitFor(String d, java.util.function.Predicate<JsonNode> done) throws Exception {
        JsonNode last = null;
        for (int i = 0; i < 120; i++) {
            last = read(server.get("/api/deployments/" + d + "/shadow", server.adminKey())
                    .body());
            if (done.test(last)) {
                return last;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("the shadow of " + d + " did not get there in 60 s: " + last.toPrettyString());
    }

    private static JsonNode read(String body) {
        try {
            return JSON.readTree(body);
        } catch (Exception e) {
            throw new IllegalStateException(body, e);
        }
    }
}
