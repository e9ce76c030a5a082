package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.inference.DeploymentRuntime;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A deployment taken out of service finishes its requests in flight, which may take minutes, and the rest of the
 * registry does not wait for it: the undeploy answers at once, and another deployment is created meanwhile, while
 * the retired one's request still streams (and still counts in flight, for the shutdown to drain).
 */
@ExtendWith(TestServer.Extension.class)
class DrainingApiTest {

    @Test
    void anUndeployedDeploymentDrainsWithoutHoldingUpTheOthers(TestServer s) throws Exception {
        String pool = s.unique("drain-h100");
        String model = s.unique("drain-llama8b");
        String first = s.unique("drain-first");
        String second = s.unique("drain-second");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        // real time: each step takes milliseconds, so 3,000 tokens take tens of seconds
        s.create(
                "/api/deployments",
                "{\"name\": \"" + first + "\", \"model\": \"" + model + "\", \"time_scale\": 1,"
                        + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}}");
        DeploymentRuntime retired = s.deployment(first);
        DeploymentManager manager = s.server().context().getBean(DeploymentManager.class);
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        HttpResponse<InputStream> stream = http.send(
                HttpRequest.newBuilder(s.uri().resolve("/v1/completions"))
                        .header("Authorization", "Bearer " + s.adminKey())
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + first + "\", \"prompt\": \"a long"
                                + " story\", \"max_tokens\": 3000, \"ignore_eos\": true, \"stream\": true}"))
                        .build(),
                HttpResponse.BodyHandlers.ofInputStream());
        try (InputStream body = stream.body()) {
            assertThat(stream.statusCode()).isEqualTo(200);
            assertThat(retired.totalInFlight()).isEqualTo(1);

            TestServer.Reply undeployed = s.delete("/api/deployments/" + first, s.adminKey());
            assertThat(undeployed.status()).as(undeployed.body()).isEqualTo(200);
            s.create(
                    "/api/deployments",
                    "{\"name\": \"" + second + "\", \"model\": \"" + model + "\", \"time_scale\": 1000,"
                            + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}}");
            // the retired deployment's request streams on, and the server counts it until it ends
            assertThat(retired.totalInFlight())
                    .as("the retired deployment's request")
                    .isEqualTo(1);
            assertThat(manager.inFlight()).isGreaterThanOrEqualTo(1);
            assertThat(body.read(new byte[256])).as("tokens still stream").isPositive();
            TestServer.Reply served = s.post(
                    "/v1/completions",
                    s.adminKey(),
                    "{\"model\": \"" + second + "\", \"prompt\": \"meanwhile\", \"max_tokens\": 4}");
            assertThat(served.status()).as(served.body()).isEqualTo(200);
        } finally {
            s.delete("/api/deployments/" + second, s.adminKey());
        }
        // the client went away: the retired deployment's request is cancelled and it closes
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (retired.totalInFlight() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(retired.totalInFlight()).isZero();
    }
}
