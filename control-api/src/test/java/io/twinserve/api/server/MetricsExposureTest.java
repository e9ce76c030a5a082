package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code /metrics}: who may read it under each {@code twinserve.metrics.exposure}, and that inference calls
 * are counted with the status they were really answered with, refusals included, as is every HTTP call.
 */
@ExtendWith(TestServer.Extension.class)
class MetricsExposureTest {
    private static TestServer server;
    private static String deployment;
    private static String operatorKey;
    private static String userKey;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        deployment = s.unique("metered");
        String pool = s.unique("metered-h100");
        String model = s.unique("metered-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\"}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create("/api/models/" + model + "/adapters", "{\"name\": \"granted\", \"rank\": 8}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\", \"placement\": {\"compute_pools\":"
                        + " [\"" + pool + "\"]}, \"time_scale\": 1000}");
        operatorKey = s.createKey(s.unique("metrics-operator"), "operator")
                .path("key")
                .asText();
        String user = s.unique("metrics-user");
        userKey = s.createKey(user, "user").path("key").asText();
        // the user sees the deployment through one adapter, so its base model answers 403
        s.create(
                "/api/permissions",
                "{\"user\": \"" + user + "\", \"deployment\": \"" + deployment + "\", \"adapter\": \"granted\"}");
    }

    private static String chatBody(String model) {
        return "{\"model\": \"" + model + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"max_tokens\": 2}";
    }

    /** The value of one Prometheus series, 0 when it is not there yet. */
    static double value(String scrape, String series) {
        Matcher m = Pattern.compile("^" + Pattern.quote(series) + " ([0-9.eE+-]+)$", Pattern.MULTILINE)
                .matcher(scrape);
        return m.find() ? Double.parseDouble(m.group(1)) : 0;
    }

    private static String scrape() {
        TestServer.Reply r = server.get("/metrics", operatorKey);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.body();
    }

    private static String requests(String deploymentTag, int status) {
        return "twinserve_requests_total{deployment=\"" + deploymentTag + "\",status=\"" + status + "\"}";
    }

    @Test
    void metricsNeedAnOperatorKeyByDefault() {
        TestServer.Reply anonymous = server.get("/metrics", null);
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.error().path("type").asText()).isEqualTo("authentication_error");
        assertThat(anonymous.body()).doesNotContain(deployment);
        TestServer.Reply user = server.get("/metrics", userKey);
        assertThat(user.status()).isEqualTo(403);
        assertThat(user.error().path("message").asText()).contains("operator");
        TestServer.Reply operator = server.send("GET", "/metrics", operatorKey, null, Map.of("Accept", "text/plain"));
        assertThat(operator.status()).isEqualTo(200);
        assertThat(operator.contentType()).startsWith("text/plain");
        assertThat(operator.body()).contains("jvm_memory_used_bytes");
        assertThat(server.get("/metrics", server.adminKey()).status()).isEqualTo(200);
    }

    @Test
    void inferenceRequestsAreCountedWithEveryStatusTheyGet() {
        String before = scrape();
        assertThat(server.post("/v1/chat/completions", null, chatBody(deployment))
                        .status())
                .isEqualTo(401);
        assertThat(server.post("/v1/chat/completions", operatorKey, "{\"model\": \"" + deployment + "\"}")
                        .status())
                .isEqualTo(400);
        assertThat(server.post("/v1/chat/completions", userKey, chatBody(deployment))
                        .status())
                .isEqualTo(403);
        assertThat(server.post("/v1/completions", operatorKey, "{\"model\": \"no-such-model\", \"prompt\": \"x\"}")
                        .status())
                .isEqualTo(404);
        assertThat(server.post("/v1/chat/completions", operatorKey, chatBody(deployment))
                        .status())
                .isEqualTo(200);
        String after = scrape();
        // refused before a deployment was resolved: counted under deployment=""
        for (int status : new int[] {401, 400, 403, 404}) {
            assertThat(value(after, requests("", status)) - value(before, requests("", status)))
                    .as("requests answered %d", status)
                    .isGreaterThanOrEqualTo(1);
        }
        assertThat(value(after, requests(deployment, 200)) - value(before, requests(deployment, 200)))
                .isEqualTo(1);
        // no series for a name nobody registered
        assertThat(after).doesNotContain("no-such-model");
    }

    @Test
    void everyHttpCallIsCountedWithItsStatus() {
        assertThat(server.get("/api/deployments/" + server.unique("nothing-here"), operatorKey)
                        .status())
                .isEqualTo(404);
        String after = scrape();
        assertThat(after).containsPattern("http_server_requests_seconds_count\\{[^}]*status=\"404\"[^}]*\\} [1-9]");
        assertThat(after)
                .containsPattern(
                        "http_server_requests_seconds_count\\{[^}]*status=\"201\"[^}]*uri=\"/api/deployments\"\\} [1-9]");
    }

    @Test
    void publicExposureAnswersWithoutAKeyAndOffAnswersNobody() {
        try (TestServer open = TestServer.start(Map.of(MetricsExposure.PROPERTY, "public"))) {
            TestServer.Reply r = open.get("/metrics", null);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.body()).contains("jvm_memory_used_bytes");
        }
        try (TestServer off = TestServer.start(Map.of(MetricsExposure.PROPERTY, "off"))) {
            TestServer.Reply anonymous = off.get("/metrics", null);
            assertThat(anonymous.status()).isEqualTo(404);
            assertThat(anonymous.body()).doesNotContain("jvm_memory");
            TestServer.Reply admin = off.get("/metrics", off.adminKey());
            assertThat(admin.status()).isEqualTo(404);
            assertThat(admin.error().path("message").asText()).contains("twinserve.metrics.exposure");
        }
    }

    @Test
    void anUnknownExposureIsRefusedByName() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> MetricsExposure.parse("pubic"))
                .hasMessageContaining("'pubic'")
                .hasMessageContaining("operators, public or off");
    }
}
