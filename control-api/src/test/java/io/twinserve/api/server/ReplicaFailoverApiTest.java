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
 * (state, error, {@code twinserve_replica_up} 0) and routes it nothing more. Bad fault settings are refused by name.
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
        s.create("/api/deployments", body(name, "{\"fail_replica\": 0, \"fail_after_steps\": 25}", 2));
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + name, server.adminKey());
    }

    private static String body(String deployment, String fault, int replicas) {
        return "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\", \"time_scale\": 1,"
                + " \"compute_config\": {\"max_num_seqs\": 1, \"fault\": " + fault + "},"
                + " \"placement\": {\"compute_pools\": [\"" + pool + "\"], \"min_replicas\": " + replicas
                + ", \"router\": {\"type\": \"round_robin\"}}}";
    }

    private static TestServer.Reply complete() {
        return server.post(
                "/v1/completions",
                server.adminKey(),
                "{\"model\": \"" + name + "\", \"prompt\": \"failover drill\", \"max_tokens\": 10,"
                        + " \"ignore_eos\": true}");
    }

    @Test
    void theDeploymentKeepsAnsweringWhenAReplicaFailsAndReportsIt() throws Exception {
        ExecutorService clients = Executors.newFixedThreadPool(8);
        List<Future<TestServer.Reply>> replies = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            replies.add(clients.submit(ReplicaFailoverApiTest::complete));
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
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        String metrics = "";
        while (System.nanoTime() < deadline) {
            metrics = server.get("/metrics", server.adminKey()).body();
            if (metrics.contains(up0)) {
                break;
            }
            Thread.sleep(200);
        }
        assertThat(metrics).contains(up0, up1);
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
