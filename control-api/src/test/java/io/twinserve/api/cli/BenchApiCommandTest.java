package io.twinserve.api.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** {@code bench api} in a tiny configuration: it runs end to end, loses no interaction and has no errors. */
class BenchApiCommandTest {
    @Test
    void benchServesEveryRequestAndRecordsEachAsAnInteraction() {
        Cli r = Cli.run("bench", "api", "--duration", "0.5", "--warmup", "0.2", "--connections", "2");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        assertThat(r.out())
                .contains("baseline GET /v1/models, 2 connections")
                .contains("inference POST /v1/chat/completions, 2 connections")
                .contains("baseline GET /v1/models, 1 connection ")
                .contains("inference POST /v1/chat/completions, 1 connection ")
                .contains("added latency p50: ")
                .contains("errors: 0");
        Matcher m = Pattern.compile("interactions in PostgreSQL: ([\\d,]+) of ([\\d,]+) requests served \\(equal\\)")
                .matcher(r.out());
        assertThat(m.find()).as(r.out()).isTrue();
        assertThat(m.group(1)).isEqualTo(m.group(2));
        assertThat(Long.parseLong(m.group(2).replace(",", ""))).isPositive();
    }

    @Test
    void benchJsonReportsEveryPhase() throws Exception {
        Cli r = Cli.run(
                "bench",
                "api",
                "--duration",
                "0.3",
                "--warmup",
                "0",
                "--connections",
                "3",
                "--client",
                "jdk",
                "--json");
        assertThat(r.exitCode()).as(r.out() + r.err()).isZero();
        JsonNode doc = new ObjectMapper().readTree(r.out());
        assertThat(doc.path("client").asText()).isEqualTo("jdk");
        assertThat(doc.path("phases")).hasSize(4);
        for (JsonNode p : doc.path("phases")) {
            assertThat(p.path("ok").asLong()).as(p.toString()).isPositive();
            assertThat(p.path("errors").asLong()).isZero();
        }
        assertThat(doc.path("errors").asLong()).isZero();
        assertThat(doc.path("interactions_in_postgresql").asLong())
                .isEqualTo(doc.path("requests_served").asLong());
    }

    @Test
    void unknownClientIsAUsageError() {
        Cli r = Cli.run("bench", "api", "--client", "curl");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.err()).contains("--client must be raw or jdk, got 'curl'");
    }
}
