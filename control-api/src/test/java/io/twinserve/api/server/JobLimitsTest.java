package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A job cannot ask the server for more than a capacity question needs: a workload of too many requests, too
 * long a window, a trace file on the server's disk or too large a sweep is refused when it is submitted,
 * with a 400 that names the field, and no job is recorded. What the issue reproduced (any key, a billion
 * seconds at a billion requests a second) is the first case.
 */
@ExtendWith(TestServer.Extension.class)
class JobLimitsTest {
    private static final String DEPLOYMENT = "\"deployment\": {\"model\": \"llama-3.1-8b\", \"gpu\": \"h100-64gb\"}";
    private static final String LENGTHS = "\"lengths\": {\"prompt\": {\"type\": \"fixed\", \"value\": 64},"
            + " \"output\": {\"type\": \"fixed\", \"value\": 16}}";

    private static TestServer server;
    private static String userKey;

    @BeforeAll
    static void connect(TestServer s) {
        server = s;
        userKey = s.createKey(s.unique("limits"), "user").get("key").asText();
    }

    private static TestServer.Reply simulate(String workload, String sweep) {
        return server.post(
                "/api/simulations",
                userKey,
                "{" + DEPLOYMENT + ", \"workload\": " + workload + (sweep == null ? "" : ", \"sweep\": [" + sweep + "]")
                        + "}");
    }

    private static String workload(String durationAndArrivals) {
        return "{" + durationAndArrivals + ", \"adapters\": {\"count\": 4, \"ranks\": [8]}, " + LENGTHS + "}";
    }

    private static void refused(TestServer.Reply r, String param, String... words) {
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo(param);
        assertThat(r.error().path("message").asText()).contains(words);
    }

    @Test
    void aWorkloadBeyondTheBoundsIsRefusedNamingTheFieldAndNothingIsRecorded() throws Exception {
        long before = server.count("select count(*) from jobs where attempts >= ?", 0);
        refused(
                // a rate low enough for the spec's own bound (10^10 requests): the job's duration limit refuses it
                simulate(workload("\"duration_s\": 1e9, \"arrivals\": {\"type\": \"poisson\", \"rate\": 0.5}"), null),
                "workload.duration_s",
                "604800");
        refused(
                simulate(workload("\"duration_s\": 3600, \"arrivals\": {\"type\": \"poisson\", \"rate\": 1e6}"), null),
                "workload",
                "requests",
                "2000000");
        refused(
                simulate(
                        workload(
                                "\"duration_s\": 3600, \"arrivals\": {\"type\": \"poisson\", \"rate_tiers\": [400, 800]}"),
                        null),
                "workload",
                "rate x duration_s");
        refused(
                simulate(
                        workload(
                                "\"duration_s\": 60, \"arrivals\": {\"type\": \"trace\", \"file\": \"/etc/hostname\"}"),
                        null),
                "workload.arrivals",
                "reads a file on the server");
        refused(
                simulate(
                        workload("\"duration_s\": 60, \"arrivals\": {\"type\": \"poisson\", \"rate\": 1}"),
                        "\"replica.max_adapters=1,2,3,4,5,6,7,8,9\", \"replica.max_num_seqs=1,2,3,4,5,6,7,8\""),
                "sweep",
                "64 configurations");
        assertThat(server.count("select count(*) from jobs where attempts >= ?", 0))
                .isEqualTo(before);
    }

    @Test
    void aWorkloadWithinTheBoundsIsAccepted() {
        TestServer.Reply r =
                simulate(workload("\"duration_s\": 60, \"arrivals\": {\"type\": \"poisson\", \"rate\": 2}"), null);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
    }
}
