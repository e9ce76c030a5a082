package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A simulation job's sweep is checked when the job is submitted: a key no spec has, or a list index the
 * cluster spec lacks, is refused with a 400 that names the key and what the spec expects, and no job is
 * recorded; a good sweep is accepted and its result holds one row per configuration with the best marked.
 */
@ExtendWith(TestServer.Extension.class)
class JobSweepValidationTest {
    private static final String DEPLOYMENT =
            "{\"model\": \"llama-3.1-8b\", \"gpu\": \"h100-64gb\"," + " \"replica\": {\"max_adapters\": 8}}";
    private static final String WORKLOAD = "{\"duration_s\": 20, \"seed\": 7, \"arrivals\": {\"type\": \"poisson\","
            + " \"rate\": 2}, \"adapters\": {\"count\": 8, \"ranks\": [16]}, \"lengths\": {\"prompt\": {\"type\": \"fixed\","
            + " \"value\": 256}, \"output\": {\"type\": \"fixed\", \"value\": 64}}}";
    private static final String CLUSTER =
            "{\"pools\": [{\"name\": \"h100\", \"gpu\": \"h100-sxm-80gb\", \"gpus_per_node\":"
                    + " 2, \"nodes\": 1}], \"deployments\": [{\"name\": \"chat\", \"model\": \"llama-3.1-8b\", \"pools\": [\"h100\"]}]}";

    private static TestServer server;

    @BeforeAll
    static void connect(TestServer s) {
        server = s;
    }

    private static TestServer.Reply simulate(String spec, String sweep) {
        return server.post(
                "/api/simulations",
                server.adminKey(),
                "{" + spec + ", \"workload\": " + WORKLOAD + ", \"sweep\": [" + sweep + "]}");
    }

    @Test
    void aMisspelledDeploymentKeyIsRefusedAtSubmissionWithTheKeyAndASuggestion() throws Exception {
        long jobs = server.count("select count(*) from jobs where attempts >= ?", 0);
        TestServer.Reply r = simulate("\"deployment\": " + DEPLOYMENT, "\"replica.max_adaptrs=2,4\"");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo("sweep");
        assertThat(r.error().path("message").asText())
                .contains("'sweep' key 'replica.max_adaptrs'")
                .contains("did you mean 'max_adapters'?")
                .contains("expected one of")
                .contains("kv_cache_len");
        assertThat(server.count("select count(*) from jobs where attempts >= ?", 0))
                .as("no job was recorded")
                .isEqualTo(jobs);
    }

    @Test
    void aMisspelledWorkloadKeyAndAValueOfTheWrongTypeAreRefusedToo() {
        TestServer.Reply key = simulate("\"deployment\": " + DEPLOYMENT, "\"workload.adapters.cnt=8,16\"");
        assertThat(key.status()).as(key.body()).isEqualTo(400);
        assertThat(key.error().path("message").asText())
                .contains("'workload.adapters.cnt'")
                .contains("did you mean 'count'?");
        TestServer.Reply value = simulate("\"deployment\": " + DEPLOYMENT, "\"replica.max_adapters=2,many\"");
        assertThat(value.status()).as(value.body()).isEqualTo(400);
        assertThat(value.error().path("message").asText())
                .contains("'replica.max_adapters'")
                .contains("max_adapters");
    }

    @Test
    void aClusterSweepKeyTheSpecLacksIsRefused() {
        TestServer.Reply typo =
                simulate("\"cluster\": " + CLUSTER, "\"deployments[0].routr.type=least_loaded,cache_aware\"");
        assertThat(typo.status()).as(typo.body()).isEqualTo(400);
        assertThat(typo.error().path("message").asText())
                .contains("'deployments[0].routr.type'")
                .contains("did you mean 'router'?");
        TestServer.Reply index = simulate("\"cluster\": " + CLUSTER, "\"deployments[3].router.type=least_loaded\"");
        assertThat(index.status()).as(index.body()).isEqualTo(400);
        assertThat(index.error().path("message").asText())
                .contains("'deployments[3].router.type'")
                .contains("the cluster spec has no deployments[3]");
    }

    @Test
    void aGoodSweepIsAcceptedAndRunsEveryConfiguration() {
        TestServer.Reply r = simulate("\"deployment\": " + DEPLOYMENT, "\"replica.max_adapters=4,8\"");
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String job = r.json().get("id").asText();
        // the events stream ends with the job
        String events =
                server.get("/api/jobs/" + job + "/events", server.adminKey()).body();
        assertThat(events).contains("\"type\":\"progress\"").contains("2/2 configurations");
        JsonNode done = server.get("/api/simulations/" + job, server.adminKey()).json();
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("succeeded");
        JsonNode rows = done.get("result");
        assertThat(rows.size()).isEqualTo(2);
        assertThat(rows.get(0).get("settings").get("replica.max_adapters").asText())
                .isEqualTo("4");
        assertThat(rows.get(0).get("summary").get("requests_arrived").asLong()).isPositive();
        int marked = 0;
        for (JsonNode row : rows) {
            marked += row.get("best").asBoolean() || row.get("closest").asBoolean() ? 1 : 0;
        }
        assertThat(marked).as("one configuration is marked best or closest").isEqualTo(1);
    }
}
