package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.yaml.snakeyaml.Yaml;

/**
 * The OpenAPI document the server serves lists what clients need: a schema for every body and answer, the
 * real success status, the error schema on every error, the bearer key, and OpenAI's request fields.
 */
@ExtendWith(TestServer.Extension.class)
class OpenApiDocumentTest {
    private static Map<String, Object> doc;

    @BeforeAll
    static void read(TestServer server) {
        TestServer.Reply r = server.get("/openapi/twinserve-0.1.yml", null);
        assertThat(r.status()).isEqualTo(200);
        doc = new Yaml().load(r.body());
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o, String... path) {
        Object cur = o;
        for (String p : path) {
            assertThat(cur).as("%s in the document", p).isInstanceOf(Map.class);
            cur = ((Map<String, Object>) cur).get(p);
        }
        assertThat(cur).as("%s in the document", String.join(".", path)).isInstanceOf(Map.class);
        return (Map<String, Object>) cur;
    }

    private static Map<String, Object> operation(String path, String method) {
        return map(doc, "paths", path, method);
    }

    @Test
    void everyOperationHasTypedAnswersAndTheErrorSchemaOnEveryError() {
        int operations = 0;
        for (var path : map(doc, "paths").entrySet()) {
            for (var op : map(path.getValue()).entrySet()) {
                operations++;
                String where = op.getKey().toUpperCase() + " " + path.getKey();
                Map<String, Object> responses = map(op.getValue(), "responses");
                assertThat(responses.keySet()).as(where).anyMatch(code -> code.startsWith("2"));
                for (var response : responses.entrySet()) {
                    Map<String, Object> content = map(response.getValue(), "content");
                    String text = content.toString();
                    assertThat(text).as(where + " " + response.getKey()).doesNotContain("format=byte");
                    // /health answers its own {status: DOWN} with 503, as Micronaut's management module does
                    if (!response.getKey().startsWith("2") && !path.getKey().equals("/health")) {
                        assertThat(text)
                                .as(where + " " + response.getKey())
                                .contains("#/components/schemas/ErrorResponse");
                    } else if (content.containsKey("application/json")) {
                        assertThat(text).as(where).containsAnyOf("$ref", "type=array", "type=string");
                        assertThat(text).as(where).doesNotContain("additionalProperties");
                    }
                }
                if (!path.getKey().equals("/health")) {
                    assertThat(((Map<?, ?>) op.getValue()).get("security"))
                            .as(where)
                            .isEqualTo(List.of(Map.of("bearer", List.of())));
                }
            }
        }
        assertThat(operations).isGreaterThanOrEqualTo(37);
        assertThat(map(doc, "components", "securitySchemes", "bearer"))
                .containsEntry("type", "http")
                .containsEntry("scheme", "bearer");
    }

    @Test
    void creationsAnswer201AndJobs202() {
        for (String path : List.of(
                "/api/compute-pools",
                "/api/models",
                "/api/models/{model}/adapters",
                "/api/deployments",
                "/api/keys",
                "/api/permissions")) {
            assertThat(map(operation(path, "post"), "responses"))
                    .as(path)
                    .containsKey("201")
                    .doesNotContainKey("200");
        }
        for (String path : List.of("/api/simulations", "/api/plans")) {
            assertThat(map(operation(path, "post"), "responses"))
                    .as(path)
                    .containsKey("202")
                    .doesNotContainKey("200");
        }
    }

    @Test
    void chatCompletionsDocumentStreamsAndOpenAisFields() {
        Map<String, Object> ok = map(operation("/v1/chat/completions", "post"), "responses", "200", "content");
        assertThat(ok).containsKeys("application/json", "text/event-stream");
        assertThat(map(operation("/v1/chat/completions", "post"), "responses", "408", "headers"))
                .containsKey("x-should-retry");
        Map<String, Object> chat = map(doc, "components", "schemas", "ChatCompletionRequest", "properties");
        assertThat(chat)
                .containsKeys(
                        "model",
                        "messages",
                        "n",
                        "logprobs",
                        "top_logprobs",
                        "presence_penalty",
                        "frequency_penalty",
                        "repetition_penalty",
                        "logit_bias",
                        "min_p",
                        "seed",
                        "stop",
                        "stream_options",
                        "response_format",
                        "max_completion_tokens");
        assertThat(map(doc, "components", "schemas", "TextCompletionRequest", "properties"))
                .containsKeys("prompt", "logprobs", "n", "logit_bias", "min_p");
        assertThat(map(doc, "components", "schemas", "ChatChoice", "properties"))
                .containsKey("logprobs");
        assertThat(map(doc, "components", "schemas", "TokenLogprob", "properties"))
                .containsKeys("token", "logprob", "bytes", "top_logprobs");
        assertThat(map(doc, "components", "schemas", "CompletionLogprobs", "properties"))
                .containsKeys("tokens", "token_logprobs", "top_logprobs", "text_offset");
        assertThat(map(doc, "components", "schemas", "DeploymentCreate", "properties"))
                .containsKeys("compute_config", "placement", "time_scale", "retain_text");
        assertThat(map(doc, "components", "schemas", "ComputeConfig", "properties"))
                .containsKeys("kv_cache_len", "max_adapters", "speculative");
    }
}
