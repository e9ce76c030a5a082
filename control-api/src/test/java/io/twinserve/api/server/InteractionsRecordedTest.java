package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Every served inference call becomes one row in PostgreSQL's {@code interactions}, with the tokens the
 * caller was billed; calls refused before they reach a replica leave none.
 */
@ExtendWith(TestServer.Extension.class)
class InteractionsRecordedTest {
    private static TestServer server;
    private static String deployment;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        deployment = s.unique("rec");
        String pool = s.unique("rec-h100");
        String model = s.unique("rec-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\"}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create("/api/models/" + model + "/adapters", "{\"name\": \"a\", \"rank\": 16}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\","
                        + " \"compute_config\": {\"max_adapters\": 1}, \"placement\": {\"compute_pools\": [\"" + pool
                        + "\"]},"
                        + " \"time_scale\": 1000}");
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + deployment, server.adminKey());
    }

    @Test
    void interactionRowsMatchTheRequestsServedAndTheirUsage() throws Exception {
        JsonNode created = server.createKey(server.unique("rec-op"), "operator");
        String key = created.path("key").asText();
        long keyId = created.path("id").asLong();
        int served = 40;
        List<Future<TestServer.Reply>> replies = new ArrayList<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        for (int i = 0; i < served; i++) {
            String model = i % 3 == 0 ? deployment + ":a" : deployment;
            String body = i % 2 == 0
                    ? "{\"model\": \"" + model + "\", \"messages\": [{\"role\": \"user\", \"content\": \"question " + i
                            + "\"}], \"max_tokens\": " + (1 + i % 5) + ", \"ignore_eos\": true, \"stream\": "
                            + (i % 4 == 0) + (i % 4 == 0 ? ", \"stream_options\": {\"include_usage\": true}" : "") + "}"
                    : "{\"model\": \"" + model + "\", \"prompt\": \"prompt " + i + "\", \"max_tokens\": " + (1 + i % 5)
                            + ", \"ignore_eos\": true}";
            String path = i % 2 == 0 ? "/v1/chat/completions" : "/v1/completions";
            replies.add(pool.submit(() -> server.post(path, key, body)));
        }
        // refused before reaching a replica: not interactions
        assertThat(server.post("/v1/completions", key, "{\"model\": \"" + deployment + "\"}")
                        .status())
                .isEqualTo(400);
        assertThat(server.post("/v1/completions", key, "{\"model\": \"" + deployment + ":zz\", \"prompt\": \"x\"}")
                        .status())
                .isEqualTo(404);
        long billedTokens = 0;
        for (Future<TestServer.Reply> f : replies) {
            TestServer.Reply r = f.get();
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            billedTokens += usage(r).path("completion_tokens").asLong();
        }
        pool.close();
        long expectedTokens = 0;
        for (int i = 0; i < served; i++) {
            expectedTokens += 1 + i % 5;
        }
        assertThat(billedTokens).isEqualTo(expectedTokens);

        server.flushInteractions();
        assertThat(server.count("select count(*) from interactions where key_id = ?", keyId))
                .isEqualTo(served);
        assertThat(server.count("select coalesce(sum(completion_tokens), 0) from interactions where key_id = ?", keyId))
                .isEqualTo(billedTokens);
        assertThat(server.count(
                        "select count(*) from interactions where key_id = ? and status = 200"
                                + " and finish_reason = 'length' and ttft_ms is not null and latency_ms >= ttft_ms",
                        keyId))
                .isEqualTo(served);
        assertThat(server.count("select count(distinct request_id) from interactions where key_id = ?", keyId))
                .isEqualTo(served);
        try (Connection c = server.jdbc();
                PreparedStatement s = c.prepareStatement(
                        "select endpoint, coalesce(adapter, '-'), count(*) from interactions where key_id = ?"
                                + " group by 1, 2 order by 1, 2")) {
            s.setLong(1, keyId);
            List<String> groups = new ArrayList<>();
            try (ResultSet rs = s.executeQuery()) {
                while (rs.next()) {
                    groups.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getLong(3));
                }
            }
            // i % 2 == 0 is chat; i % 3 == 0 uses the adapter: 40 calls split 7/13/7/13
            assertThat(groups)
                    .containsExactly(
                            "chat.completions - 13", "chat.completions a 7", "completions - 13", "completions a 7");
        }
    }

    /** The usage object of an answer, streamed (the last event before [DONE]) or not. */
    private static JsonNode usage(TestServer.Reply r) throws Exception {
        if (!r.contentType().startsWith("text/event-stream")) {
            return r.json().path("usage");
        }
        String[] events = r.body().strip().split("\n\n");
        assertThat(events[events.length - 1]).isEqualTo("data: [DONE]");
        return TestServer.JSON
                .readTree(events[events.length - 2].substring("data: ".length()))
                .path("usage");
    }
}
