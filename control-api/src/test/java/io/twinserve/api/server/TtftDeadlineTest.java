package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.OpenAIServiceException;
import com.openai.models.completions.CompletionCreateParams;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A request that gets no first token within the deployment's {@code max_ttft_ms} is answered 408 in
 * OpenAI's error JSON, and recorded as such.
 *
 * <p>Deterministic by construction, not by timing: the deployment runs one sequence at a time
 * ({@code max_num_seqs} 1) at real speed ({@code time_scale} 1). The first request has started (its first
 * token has arrived) before the others are sent, and its remaining steps are waited out by the simulated
 * backend for at least what the twin predicts, about 4 s, never less whatever the machine's load; so the
 * others cannot start within the 1 s limit (which is long enough for the first request's own first token
 * on a busy machine).
 */
@ExtendWith(TestServer.Extension.class)
class TtftDeadlineTest {
    private static final int LONG_TOKENS = 400;

    private static TestServer server;
    private static String deployment;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        deployment = s.unique("ttft");
        String pool = s.unique("ttft-h100");
        String model = s.unique("ttft-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\"}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\","
                        + " \"compute_config\": {\"max_num_seqs\": 1},"
                        + " \"placement\": {\"compute_pools\": [\"" + pool
                        + "\"], \"max_ttft_ms\": 1000}, \"time_scale\": 1}");
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + deployment, server.adminKey());
    }

    @Test
    void requestQueuedPastMaxTtftIsAnswered408AndRecorded() throws Exception {
        JsonNode created = server.createKey(server.unique("ttft-op"), "operator");
        String key = created.path("key").asText();
        HttpRequest longRequest = HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"model\": \"" + deployment + "\", \"prompt\": \"tell a long" + " story\", \"max_tokens\": "
                                + LONG_TOKENS + ", \"ignore_eos\": true, \"stream\": true,"
                                + " \"stream_options\": {\"include_usage\": true}}"))
                .build();
        // the head of a stream is sent with the first token: once it is here, the only slot is taken
        try (HttpClient http =
                HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build()) {
            HttpResponse<Stream<String>> running = http.send(longRequest, HttpResponse.BodyHandlers.ofLines());
            assertThat(running.statusCode()).isEqualTo(200);
            try {
                othersTimeOutWhile(running, key);
            } finally {
                // a failed check above must fail the test, not leave the client waiting on the long stream
                running.body().close();
            }
        }
        server.flushInteractions();
        long keyId = created.path("id").asLong();
        assertThat(server.count("select count(*) from interactions where key_id = ? and status = 408", keyId))
                .isEqualTo(2);
        assertThat(server.count("select count(*) from interactions where key_id = ? and status = 200", keyId))
                .isEqualTo(1);
        assertThat(server.count(
                        "select count(*) from interactions where key_id = ? and status = 408"
                                + " and completion_tokens = 0 and ttft_ms is null and finish_reason = 'timeout'",
                        keyId))
                .isEqualTo(2);
    }

    /** Two more requests while {@code running} holds the only slot: both 408; then the running one ends well. */
    private static void othersTimeOutWhile(HttpResponse<Stream<String>> running, String key) throws Exception {
        // both wait at once, so both deadlines pass while the first request still has seconds to run
        CompletableFuture<TestServer.Reply> whole = CompletableFuture.supplyAsync(() -> server.post(
                "/v1/completions",
                key,
                "{\"model\": \"" + deployment + "\", \"prompt\": \"me next\", \"max_tokens\": 4}"));
        // an OpenAI SDK with its default retries: the 408 tells it not to retry, so the server sees it once
        JsonNode sdkKey = server.createKey(server.unique("ttft-sdk"), "operator");
        OpenAIClient sdk = OpenAIOkHttpClient.builder()
                .baseUrl(server.uri() + "/v1")
                .apiKey(sdkKey.path("key").asText())
                .timeout(Duration.ofSeconds(60))
                .build();
        CompletableFuture<Integer> sdkStatus = CompletableFuture.supplyAsync(() -> {
            try {
                sdk.completions()
                        .create(CompletionCreateParams.builder()
                                .model(deployment)
                                .prompt("sdk")
                                .maxTokens(4)
                                .build());
                return 200;
            } catch (OpenAIServiceException e) {
                return e.statusCode();
            }
        });
        CompletableFuture<TestServer.Reply> streamed = CompletableFuture.supplyAsync(() -> server.post(
                "/v1/chat/completions",
                key,
                "{\"model\": \"" + deployment + "\", \"messages\": [{\"role\": \"user\","
                        + " \"content\": \"me too\"}], \"stream\": true}"));

        TestServer.Reply w = whole.get(60, TimeUnit.SECONDS);
        assertThat(w.status()).as(w.body()).isEqualTo(408);
        JsonNode e = w.error();
        assertThat(e.path("type").asText()).isEqualTo("timeout_error");
        assertThat(e.path("code").asText()).isEqualTo("ttft_timeout");
        assertThat(e.path("message").asText()).contains("max_ttft_ms = 1000 ms");
        TestServer.Reply s = streamed.get(60, TimeUnit.SECONDS);
        assertThat(s.status())
                .as("a stream that never started is a 408 too: %s", s.body())
                .isEqualTo(408);
        assertThat(s.error().path("code").asText()).isEqualTo("ttft_timeout");
        assertThat(w.headers().firstValue("x-should-retry")).hasValue("false");
        assertThat(sdkStatus.get(60, TimeUnit.SECONDS)).isEqualTo(408);
        server.flushInteractions();
        assertThat(server.count(
                        "select count(*) from interactions where key_id = ?",
                        sdkKey.path("id").asLong()))
                .as("the SDK sent the request once, not again after the 408")
                .isEqualTo(1);

        List<String> events = running.body().filter(l -> l.startsWith("data: ")).toList();
        assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");
        JsonNode usage = TestServer.JSON
                .readTree(events.get(events.size() - 2).substring(6))
                .path("usage");
        assertThat(usage.path("completion_tokens").asInt())
                .as("the running request was not disturbed")
                .isEqualTo(LONG_TOKENS);
    }
}
