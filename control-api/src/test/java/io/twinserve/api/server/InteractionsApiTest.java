package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.server.interactions.Interaction;
import io.twinserve.api.server.interactions.InteractionWriter;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Reading interactions back: filters, keyset paging across pages, the JSON Lines export, and who sees
 * which rows (a user only the calls of its own keys), against the real PostgreSQL.
 */
@ExtendWith(TestServer.Extension.class)
class InteractionsApiTest {
    private static final int SYNTHETIC = 25;
    private static final OffsetDateTime T0 = OffsetDateTime.of(2026, 1, 2, 3, 0, 0, 0, ZoneOffset.UTC);

    private static TestServer server;
    private static String deployment;
    private static String synthetic;
    private static String aliceKey;
    private static long aliceKeyId;
    private static String bobKey;
    private static long bobKeyId;

    @BeforeAll
    static void record(TestServer s) throws Exception {
        server = s;
        deployment = s.unique("recorded");
        synthetic = s.unique("synthetic");
        String pool = s.unique("recorded-h100");
        String model = s.unique("recorded-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\"}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\", \"placement\": {\"compute_pools\":"
                        + " [\"" + pool + "\"]}, \"time_scale\": 1000}");
        String alice = s.unique("alice");
        String bob = s.unique("bob");
        JsonNode a = s.createKey(alice, "user");
        JsonNode b = s.createKey(bob, "user");
        aliceKey = a.path("key").asText();
        aliceKeyId = a.path("id").asLong();
        bobKey = b.path("key").asText();
        bobKeyId = b.path("id").asLong();
        for (String user : List.of(alice, bob)) {
            s.create("/api/permissions", "{\"user\": \"" + user + "\", \"deployment\": \"" + deployment + "\"}");
        }
        for (int i = 0; i < 3; i++) {
            assertThat(chat(aliceKey).status()).isEqualTo(200);
        }
        for (int i = 0; i < 2; i++) {
            assertThat(chat(bobKey).status()).isEqualTo(200);
        }
        assertThat(chat(s.adminKey()).status()).isEqualTo(200);
        // rows with known statuses, adapters and times, written the way the server writes them
        InteractionWriter writer = s.server().context().getBean(InteractionWriter.class);
        for (int i = 0; i < SYNTHETIC; i++) {
            OffsetDateTime started = T0.plusMinutes(i);
            writer.record(new Interaction(
                    s.unique("syn-" + i),
                    "chat.completions",
                    synthetic,
                    i % 5 == 0 ? "sql" : null,
                    null,
                    10,
                    i,
                    i % 2 == 0 ? 5.0 : null,
                    20.0,
                    i % 2 == 0 ? 200 : 408,
                    i % 2 == 0 ? "stop" : "timeout",
                    started,
                    started.plusSeconds(1),
                    null,
                    null));
        }
        s.flushInteractions();
    }

    private static TestServer.Reply chat(String key) {
        return server.post(
                "/v1/chat/completions",
                key,
                "{\"model\": \"" + deployment + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                        + " \"max_tokens\": 2}");
    }

    private static JsonNode list(String key, String query) {
        TestServer.Reply r = server.get("/api/interactions?" + query, key);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static String encoded(OffsetDateTime t) {
        return URLEncoder.encode(t.toString(), StandardCharsets.UTF_8);
    }

    private static List<Long> ids(JsonNode page) {
        List<Long> ids = new ArrayList<>();
        page.path("data").forEach(r -> ids.add(r.path("id").asLong()));
        return ids;
    }

    @Test
    void filtersByDeploymentAdapterKeyStatusAndTime() {
        JsonNode all = list(server.adminKey(), "deployment=" + synthetic + "&limit=1000");
        assertThat(all.path("data")).hasSize(SYNTHETIC);
        assertThat(all.path("next_cursor").isNull()).isTrue();
        JsonNode timedOut = list(server.adminKey(), "deployment=" + synthetic + "&status=408");
        assertThat(timedOut.path("data")).hasSize(SYNTHETIC / 2);
        timedOut.path("data").forEach(r -> {
            assertThat(r.path("status").asInt()).isEqualTo(408);
            assertThat(r.path("finish_reason").asText()).isEqualTo("timeout");
        });
        JsonNode sql = list(server.adminKey(), "deployment=" + synthetic + "&adapter=sql");
        assertThat(sql.path("data")).hasSize(5);
        // since inclusive, until exclusive: minutes 5 to 9
        JsonNode window = list(
                server.adminKey(),
                "deployment=" + synthetic + "&since=" + encoded(T0.plusMinutes(5)) + "&until="
                        + encoded(T0.plusMinutes(10)));
        assertThat(window.path("data")).hasSize(5);
        window.path("data")
                .forEach(r -> assertThat(
                                OffsetDateTime.parse(r.path("started_at").asText()))
                        .isBetween(T0.plusMinutes(5), T0.plusMinutes(9)));
        JsonNode byKey = list(server.adminKey(), "deployment=" + deployment + "&key_id=" + bobKeyId);
        assertThat(byKey.path("data")).hasSize(2);
        byKey.path("data").forEach(r -> assertThat(r.path("key_id").asLong()).isEqualTo(bobKeyId));
    }

    @Test
    void pagesFollowTheCursorWithoutDuplicatesOrGaps() {
        List<Long> expected = ids(list(server.adminKey(), "deployment=" + synthetic + "&limit=1000"));
        List<Long> seen = new ArrayList<>();
        String cursor = null;
        int pages = 0;
        do {
            JsonNode page = list(
                    server.adminKey(),
                    "deployment=" + synthetic + "&limit=7" + (cursor == null ? "" : "&cursor=" + cursor));
            assertThat(page.path("data").size()).isLessThanOrEqualTo(7);
            seen.addAll(ids(page));
            cursor = page.path("next_cursor").isNull()
                    ? null
                    : page.path("next_cursor").asText();
            pages++;
        } while (cursor != null && pages < 100);
        assertThat(pages).isEqualTo(4);
        assertThat(seen).hasSize(SYNTHETIC).doesNotHaveDuplicates().isSorted().isEqualTo(expected);
    }

    @Test
    void exportHasOneLinePerRow() throws Exception {
        TestServer.Reply r = server.get("/api/interactions/export?deployment=" + synthetic, server.adminKey());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("application/jsonl");
        String[] lines = r.body().split("\n");
        long rows;
        try (Connection c = server.jdbc();
                PreparedStatement st = c.prepareStatement("select count(*) from interactions where deployment = ?")) {
            st.setString(1, synthetic);
            try (ResultSet rs = st.executeQuery()) {
                rs.next();
                rows = rs.getLong(1);
            }
        }
        assertThat(rows).isEqualTo(SYNTHETIC);
        assertThat(lines).hasSize((int) rows);
        Set<Long> ids = new HashSet<>();
        for (String line : lines) {
            JsonNode row = TestServer.JSON.readTree(line);
            assertThat(row.path("deployment").asText()).isEqualTo(synthetic);
            ids.add(row.path("id").asLong());
        }
        assertThat(ids).hasSize(SYNTHETIC);
        TestServer.Reply filtered =
                server.get("/api/interactions/export?deployment=" + synthetic + "&status=200", server.adminKey());
        assertThat(filtered.body().split("\n")).hasSize(13);
    }

    @Test
    void aUserSeesOnlyTheCallsOfItsOwnKeys() {
        JsonNode alice = list(aliceKey, "deployment=" + deployment);
        assertThat(alice.path("data")).hasSize(3);
        alice.path("data").forEach(r -> assertThat(r.path("key_id").asLong()).isEqualTo(aliceKeyId));
        assertThat(list(bobKey, "deployment=" + deployment).path("data")).hasSize(2);
        // asking for another user's key narrows to nothing rather than widening
        assertThat(list(aliceKey, "key_id=" + bobKeyId).path("data")).isEmpty();
        // rows without a key (or another's) are not the user's either
        assertThat(list(aliceKey, "deployment=" + synthetic).path("data")).isEmpty();
        String export = server.get("/api/interactions/export", aliceKey).body();
        assertThat(export.split("\n")).hasSize(3);
        // operators and admins see everyone's
        assertThat(list(server.adminKey(), "deployment=" + deployment).path("data"))
                .hasSize(6);
    }

    @Test
    void unknownOrInvalidParametersAreRefusedNamingThem() {
        TestServer.Reply typo = server.get("/api/interactions?deploymnt=x", server.adminKey());
        assertThat(typo.status()).isEqualTo(400);
        assertThat(typo.error().path("param").asText()).isEqualTo("deploymnt");
        assertThat(typo.error().path("message").asText()).contains("did you mean 'deployment'");
        TestServer.Reply exportCursor = server.get("/api/interactions/export?limit=5", server.adminKey());
        assertThat(exportCursor.status()).isEqualTo(400);
        assertThat(exportCursor.error().path("param").asText()).isEqualTo("limit");
        for (String bad : List.of(
                "limit=0",
                "limit=1001",
                "status=99",
                "key_id=abc",
                "cursor=bm90LWEtY3Vyc29y",
                "since=yesterday",
                "since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z")) {
            TestServer.Reply r = server.get("/api/interactions?" + bad, server.adminKey());
            assertThat(r.status()).as(bad).isEqualTo(400);
            assertThat(r.error().path("param").asText()).as(bad).isNotBlank();
        }
        assertThat(server.get("/api/interactions", null).status()).isEqualTo(401);
    }
}
