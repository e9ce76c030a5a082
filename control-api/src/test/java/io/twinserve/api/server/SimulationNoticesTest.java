package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A simulation job's result carries the same notices on its inputs as {@code twinserve what-if} prints: a
 * workload of multi-turn sessions on a deployment with prefix caching off is noted, each run of a sweep with its
 * own (none when the sweep compares prefix caching itself), and a result with nothing to say has no {@code notices}.
 */
@ExtendWith(TestServer.Extension.class)
class SimulationNoticesTest {
    private static final String SESSIONS = "{\"duration_s\": 20, \"seed\": 7, \"arrivals\": {\"type\": \"poisson\","
            + " \"rate\": 1}, \"adapters\": {\"count\": 4, \"ranks\": [16]}, \"lengths\": {\"prompt\": {\"type\":"
            + " \"fixed\", \"value\": 128}, \"output\": {\"type\": \"fixed\", \"value\": 32}}, \"sessions\":"
            + " {\"turns\": {\"type\": \"uniform\", \"min\": 2, \"max\": 3}, \"think_time_s\": {\"type\": \"fixed\","
            + " \"value\": 2}}}";
    private static final String PLAIN = "{\"duration_s\": 20, \"seed\": 7, \"arrivals\": {\"type\": \"poisson\","
            + " \"rate\": 1}, \"adapters\": {\"count\": 4, \"ranks\": [16]}, \"lengths\": {\"prompt\": {\"type\":"
            + " \"fixed\", \"value\": 128}, \"output\": {\"type\": \"fixed\", \"value\": 32}}}";

    private static TestServer server;

    @BeforeAll
    static void connect(TestServer s) {
        server = s;
    }

    private static JsonNode run(String workload, boolean prefixCaching, String sweep) {
        String deployment = "{\"model\": \"llama-3.1-8b\", \"gpu\": \"h100-64gb\", \"replica\": {\"max_adapters\": 4,"
                + " \"prefix_caching\": " + prefixCaching + "}}";
        TestServer.Reply r = server.post(
                "/api/simulations",
                server.adminKey(),
                "{\"deployment\": " + deployment + ", \"workload\": " + workload
                        + (sweep == null ? "" : ", \"sweep\": [\"" + sweep + "\"]") + "}");
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String job = r.json().get("id").asText();
        server.get("/api/jobs/" + job + "/events", server.adminKey());
        JsonNode done = server.get("/api/simulations/" + job, server.adminKey()).json();
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("succeeded");
        return done.get("result");
    }

    @Test
    void sessionsOnADeploymentThatDoesNotCachePrefixesAreNoted() {
        JsonNode off = run(SESSIONS, false, null);
        JsonNode notices = off.get("notices");
        assertThat(notices).as(off.toString()).isNotNull();
        assertThat(notices.size()).isEqualTo(1);
        assertThat(notices.get(0).get("level").asText()).isEqualTo("note");
        assertThat(notices.get(0).get("message").asText())
                .startsWith(
                        "the workload: its multi-turn sessions repeat each earlier turn as the next prompt's prefix")
                .contains("but the deployment has replica.prefix_caching: false");
        assertThat(run(SESSIONS, true, null).has("notices")).isFalse();
        assertThat(run(PLAIN, false, null).has("notices")).isFalse();
        // a sweep: each configuration's run has its own (here the deployment's slots vary, prefix caching stays off)
        JsonNode rows = run(SESSIONS, false, "replica.max_adapters=2,4");
        assertThat(rows.size()).isEqualTo(2);
        for (JsonNode row : rows) {
            assertThat(row.get("notices").get(0).get("message").asText()).contains("prefix_caching: false");
        }
        // a sweep that compares prefix caching itself is not told to
        for (JsonNode row : run(SESSIONS, true, "replica.prefix_caching=true,false")) {
            assertThat(row.has("notices")).as(row.toString()).isFalse();
        }
    }
}
