package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Stateful KV routing: every request of a session goes to the replica its first request went to (the
 * session-to-replica map lives in Redis, so any server instance would route it alike), while requests
 * without a session spread over the replicas.
 */
@ExtendWith(TestServer.Extension.class)
class SessionRoutingTest {
    private static TestServer server;
    private static String deployment;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        deployment = s.unique("sessions");
        String pool = s.unique("sessions-h100");
        String model = s.unique("sessions-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\","
                        + " \"placement\": {\"compute_pools\": [\"" + pool
                        + "\"], \"min_replicas\": 4}, \"time_scale\": 1000}");
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + deployment, server.adminKey());
    }

    private static long[] finishedPerReplica() {
        JsonNode replicas = server.get("/api/deployments/" + deployment, server.adminKey())
                .json()
                .get("replicas");
        long[] out = new long[replicas.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = replicas.get(i).get("finished").asLong();
        }
        return out;
    }

    private static void call(String session) {
        String body =
                "{\"model\": \"" + deployment + "\", \"prompt\": \"turn of a long conversation\", \"max_tokens\": 2}";
        TestServer.Reply r = session == null
                ? server.send("POST", "/v1/completions", server.adminKey(), body)
                : server.send(
                        "POST",
                        "/v1/completions",
                        server.adminKey(),
                        HttpRequest.BodyPublishers.ofString(body),
                        Map.of("X-Session-Id", session));
        assertThat(r.status()).as(r.body()).isEqualTo(200);
    }

    @Test
    void aSessionStaysOnOneReplica() {
        long[] before = finishedPerReplica();
        for (int i = 0; i < 6; i++) {
            call("session-a");
        }
        long[] after = finishedPerReplica();
        int moved = 0;
        for (int i = 0; i < after.length; i++) {
            long d = after[i] - before[i];
            assertThat(d).isIn(0L, 6L);
            if (d == 6) {
                moved++;
            }
        }
        assertThat(moved).isEqualTo(1);
    }

    @Test
    void requestsWithoutASessionSpread() {
        long[] before = finishedPerReplica();
        for (int i = 0; i < 8; i++) {
            call(null);
        }
        long[] after = finishedPerReplica();
        int used = 0;
        for (int i = 0; i < after.length; i++) {
            if (after[i] > before[i]) {
                used++;
            }
        }
        assertThat(used).isGreaterThan(1);
    }
}
