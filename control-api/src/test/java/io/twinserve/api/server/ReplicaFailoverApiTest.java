package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Failover drill through the API: a two-replica deployment whose replica 0 fails on purpose
 * ({@code compute_config.fault.fail_after_steps}) keeps answering. Requests queued on the failed replica run on
 * the other; at most the one cut mid-answer fails (500, engine_error); the deployment reports the replica failed
 * (state, error, {@code twinserve_replica_up} 0) and routes it nothing more (here with restarts off). With restarts
 * on, the failed replica is restarted in place and served again ({@code restarts}, {@code twinserve_replica_restarts}).
 * Bad fault and restart settings are refused by name.
 */
@ExtendWith(TestServer.Extension.class)
class ReplicaFailoverApiTest {
    private static TestServer server;
    private static String pool;
    private static String model;
    private static String name;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        pool = s.unique("failover-h100");
        model = s.unique("failover-llama8b");
        name = s.unique("failover");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        // real time (time_scale 1: a step takes milliseconds), one sequence at a time, so that requests queue
        s.create(
                "/api/deployments",
                body(name, "{\"fail_replica\": 0, \"fail_after_steps\": 25}", 2, "{\"max_restarts\": 0}"));
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + name, server.adminKey());
    }

    private static String body(String deployment, String fault, int replicas) {
        return body(deployment, fault, replicas, "null");
    }

    private static String body(String deployment, String fault, int replicas, String restart) {
        return "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\", \"time_scale\": 1,"
                + " \"compute_config\": {\"max_num_seqs\": 1, \"fault\": " + fault + ", \"restart\": " + restart
                + "},"
                + " \"placement\": {\"compute_pools\": [\"" + pool + "\"], \"min_replicas\": " + replicas
                + ", \"router\": {\"type\": \"round_robin\"}}}";
    }

    private static TestServer.Reply complete() {
        return complete(name);
    }

    private static TestServer.Reply complete(String deployment) {
        return server.post(
                "/v1/completions",
                server.adminKey(),
                "{\"model\": \"" + deployment + "\", \"prompt\": \"failover drill\", \"max_tokens\": 10,"
                        + " \"ignore_eos\": true}");
    }

    /** The deployment's replicas as GET /api/deployments/{id} shows them. */
    private static JsonNode replicas(String deployment) {
        return server.get("/api/deployments/" + deployment, server.adminKey())
                .json()
                .get("replicas");
    }

    /** Polls /metrics (its gauges are refreshed every second) until it holds every line, at most 20 s; returns it. */
    private static String metricsWith(String... lines) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        String metrics = "";
        while (System.nanoTime() < deadline) {
            metrics = server.get("/metrics", server.adminKey()).body();
            if (java.util.Arrays.stream(lines).allMatch(metrics::contains)) {
                break;
            }
            Thread.sleep(200);
        }
        return metrics;
    }

    @Test
    void theDeploymentKeepsAnsweringWhenAReplicaFailsAndReportsIt() throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(8);
        List<Future<TestServer.Reply>> replies = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            replies.add(clients.submit(() -> complete()));
        }
        for (Future<TestServer.Reply> f : replies) {
            TestServer.Reply r = f.get(120, TimeUnit.SECONDS);
            // replica 0 failed at its 26th step, mid-answer of its third request: whole answers (not streams) had
            // shown nobody anything, so that one ran again on replica 1 too, and every request is answered
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().at("/usage/completion_tokens").asInt()).isEqualTo(10);
        }
        clients.shutdown();

        JsonNode replicas =
                server.get("/api/deployments/" + name, server.adminKey()).json().get("replicas");
        assertThat(replicas.get(0).path("state").asText()).isEqualTo("failed");
        assertThat(replicas.get(0).path("error").asText()).contains("failed on purpose");
        assertThat(replicas.get(0).path("restarts").asInt()).isZero();
        assertThat(replicas.get(1).path("state").asText()).isEqualTo("serving");
        assertThat(replicas.get(1).has("error")).isFalse();

        // round robin among the replicas still serving: every later request is answered by replica 1
        long before = replicas.get(1).path("finished").asLong();
        for (int i = 0; i < 3; i++) {
            assertThat(complete().status()).isEqualTo(200);
        }
        long after = server.get("/api/deployments/" + name, server.adminKey())
                .json()
                .at("/replicas/1/finished")
                .asLong();
        assertThat(after - before).isEqualTo(3);

        // the gauge, refreshed every second
        String up0 = "twinserve_replica_up{deployment=\"" + name + "\",replica=\"0\"} 0.0";
        String up1 = "twinserve_replica_up{deployment=\"" + name + "\",replica=\"1\"} 1.0";
        assertThat(metricsWith(up0, up1)).contains(up0, up1);
    }

    @Test
    void aFailedReplicaIsRestartedAndServedAgain() throws Exception {
        String restarting = server.unique("failover-restart");
        server.create(
                "/api/deployments",
                body(
                        restarting,
                        "{\"fail_replica\": 0, \"fail_after_steps\": 25}",
                        2,
                        "{\"max_restarts\": 2, \"backoff_s\": 0.5}"));
        try {
            // one request at a time until replica 0 has failed (each answered: whole answers run again elsewhere)
            for (int i = 0; i < 40 && replicas(restarting).at("/0/restarts").asInt() == 0; i++) {
                TestServer.Reply r = complete(restarting);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                if (!replicas(restarting).at("/0/state").asText().equals("serving")) {
                    break;
                }
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            JsonNode replicas = replicas(restarting);
            while (System.nanoTime() < deadline
                    && !(replicas.at("/0/state").asText().equals("serving")
                            && replicas.at("/0/restarts").asInt() == 1)) {
                Thread.sleep(50);
                replicas = replicas(restarting);
            }
            assertThat(replicas.at("/0/state").asText()).isEqualTo("serving");
            assertThat(replicas.at("/0/restarts").asInt()).isEqualTo(1);
            assertThat(replicas.get(0).has("error")).isFalse();
            assertThat(replicas.at("/1/restarts").asInt()).isZero();

            // the restarted replica (its counters start again) takes every other request once more
            for (int i = 0; i < 4; i++) {
                TestServer.Reply r = complete(restarting);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
            }
            assertThat(replicas(restarting).at("/0/finished").asLong()).isEqualTo(2);

            String up0 = "twinserve_replica_up{deployment=\"" + restarting + "\",replica=\"0\"} 1.0";
            String restarts0 = "twinserve_replica_restarts{deployment=\"" + restarting + "\",replica=\"0\"} 1.0";
            assertThat(metricsWith(up0, restarts0)).contains(up0, restarts0);
        } finally {
            server.delete("/api/deployments/" + restarting, server.adminKey());
        }
    }

    @Test
    void refusesBadRestartSettingsByName() {
        TestServer.Reply typo = server.post(
                "/api/deployments",
                server.adminKey(),
                body(server.unique("restart-typo"), "null", 1, "{\"max_restart\": 3}"));
        assertThat(typo.status()).as(typo.body()).isEqualTo(400);
        assertThat(typo.body())
                .contains("compute_config.restart.max_restart is not a known key")
                .contains("max_restarts or backoff_s");

        TestServer.Reply negative = server.post(
                "/api/deployments",
                server.adminKey(),
                body(server.unique("restart-negative"), "null", 1, "{\"max_restarts\": -1}"));
        assertThat(negative.status()).as(negative.body()).isEqualTo(400);
        assertThat(negative.body()).contains("compute_config.restart.max_restarts", "from 0");

        TestServer.Reply slow = server.post(
                "/api/deployments",
                server.adminKey(),
                body(server.unique("restart-slow"), "null", 1, "{\"backoff_s\": 600}"));
        assertThat(slow.status()).as(slow.body()).isEqualTo(400);
        assertThat(slow.body()).contains("compute_config.restart.backoff_s", "from 0 to 60");

        TestServer.Reply repeat = server.post(
                "/api/deployments",
                server.adminKey(),
                body(server.unique("restart-repeat"), "{\"fail_after_steps\": 3, \"repeat\": \"yes\"}", 1));
        assertThat(repeat.status()).as(repeat.body()).isEqualTo(400);
        assertThat(repeat.body()).contains("compute_config.fault.repeat", "expected true");

        TestServer.Reply alone = server.post(
                "/api/deployments", server.adminKey(), body(server.unique("restart-alone"), "{\"repeat\": true}", 1));
        assertThat(alone.status()).as(alone.body()).isEqualTo(400);
        assertThat(alone.body()).contains("compute_config.fault.repeat", "needs 'fail_after_steps'");
    }

    @Test
    void refusesAnUnknownFaultKeyAndAReplicaTheDeploymentDoesNotStart() {
        TestServer.Reply typo = server.post(
                "/api/deployments",
                server.adminKey(),
                body(server.unique("failover-typo"), "{\"fail_afer_steps\": 3}", 2));
        assertThat(typo.status()).as(typo.body()).isEqualTo(400);
        assertThat(typo.body())
                .contains("compute_config.fault.fail_afer_steps is not a known key")
                .contains("fail_after_steps");

        TestServer.Reply outside = server.post(
                "/api/deployments",
                server.adminKey(),
                body(server.unique("failover-outside"), "{\"fail_replica\": 2, \"fail_after_steps\": 3}", 2));
        assertThat(outside.status()).as(outside.body()).isEqualTo(400);
        assertThat(outside.body()).contains("compute_config.fault.fail_replica", "starts 2 replica(s)");

        TestServer.Reply noSteps = server.post(
                "/api/deployments",
                server.adminKey(),
                body(server.unique("failover-nosteps"), "{\"fail_replica\": 1}", 2));
        assertThat(noSteps.status()).as(noSteps.body()).isEqualTo(400);
        assertThat(noSteps.body()).contains("needs 'fail_after_steps'");
    }
}
