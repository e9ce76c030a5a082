package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A job is seen by its owner (any key of the user who submitted it) and by operators, and by nobody else:
 * another user's key is told there is no such job, as for an id that does not exist.
 */
@ExtendWith(TestServer.Extension.class)
class JobVisibilityTest {
    private static final String SIMULATION = "{\"deployment\": {\"model\": \"llama-3.1-8b\", \"gpu\": \"h100-64gb\"},"
            + " \"workload\": {\"duration_s\": 5, \"seed\": 3, \"arrivals\": {\"type\": \"poisson\", \"rate\": 1},"
            + " \"adapters\": {\"count\": 2, \"ranks\": [8]}, \"lengths\": {\"prompt\": {\"type\": \"fixed\","
            + " \"value\": 64}, \"output\": {\"type\": \"fixed\", \"value\": 16}}}}";

    private static TestServer server;

    @BeforeAll
    static void connect(TestServer s) {
        server = s;
    }

    @Test
    void onlyItsOwnerAndOperatorsSeeAJob() throws Exception {
        String owner = server.unique("owner");
        String ownerKey = server.createKey(owner, "user").get("key").asText();
        String ownerOtherKey = server.createKey(owner, "user").get("key").asText();
        String strangerKey =
                server.createKey(server.unique("stranger"), "user").get("key").asText();
        String operatorKey = server.createKey(server.unique("operator"), "operator")
                .get("key")
                .asText();

        TestServer.Reply submitted = server.post("/api/simulations", ownerKey, SIMULATION);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String id = submitted.json().get("id").asText();

        for (String path : new String[] {"/api/jobs/" + id, "/api/simulations/" + id, "/api/jobs/" + id + "/events"}) {
            TestServer.Reply hidden = server.get(path, strangerKey);
            assertThat(hidden.status())
                    .as("%s as another user: %s", path, hidden.body())
                    .isEqualTo(404);
            assertThat(hidden.body()).doesNotContain("\"kind\"");
        }
        // told exactly what an unknown id is told
        TestServer.Reply unknown = server.get("/api/jobs/00000000-0000-0000-0000-000000000000", strangerKey);
        assertThat(server.get("/api/jobs/" + id, strangerKey).body())
                .isEqualTo(unknown.body().replace("00000000-0000-0000-0000-000000000000", id));

        for (String key : new String[] {ownerKey, ownerOtherKey, operatorKey, server.adminKey()}) {
            TestServer.Reply seen = server.get("/api/jobs/" + id, key);
            assertThat(seen.status()).as(seen.body()).isEqualTo(200);
            assertThat(seen.json().get("id").asText()).isEqualTo(id);
        }
    }
}
