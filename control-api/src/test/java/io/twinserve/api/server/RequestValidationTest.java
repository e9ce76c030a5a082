package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every malformed request is answered with a 4xx, OpenAI's error JSON and a message that says what was
 * wrong; never a 500. Also the memory check of a deployment that does not fit (422 with the shortfall).
 */
@ExtendWith(TestServer.Extension.class)
class RequestValidationTest {
    private static TestServer server;
    private static String deployment;
    private static String pool;
    private static String model;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        deployment = s.unique("valid");
        pool = s.unique("valid-h100");
        model = s.unique("valid-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 2}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\","
                        + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}, \"time_scale\": 1000}");
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + deployment, server.adminKey());
    }

    /** {@code $D}, {@code $P} and {@code $M} in a body stand for this class's deployment, pool and model. */
    static Stream<Arguments> badRequests() {
        String chat = "/v1/chat/completions";
        String msgs = "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]";
        return Stream.of(
                Arguments.of(chat, "{\"model\": \"$D\",", 400, "not valid JSON at line 1"),
                Arguments.of(chat, "[{\"model\": \"$D\"}]", 400, "must be a JSON object, got array"),
                Arguments.of(chat, "\"just a string\"", 400, "must be a JSON object, got string"),
                Arguments.of(chat, "", 400, "the request body is empty"),
                Arguments.of(chat, "{" + msgs + "}", 400, "'model' is required"),
                Arguments.of(chat, "{\"model\": 5, " + msgs + "}", 400, "'model' must be a non-empty string, got 5"),
                Arguments.of(chat, "{\"model\": \"$D\"}", 400, "'messages' is required"),
                Arguments.of(
                        chat, "{\"model\": \"$D\", \"messages\": \"hi\"}", 400, "'messages' must be a non-empty list"),
                Arguments.of(
                        chat, "{\"model\": \"$D\", \"messages\": [\"hi\"]}", 400, "'messages[0]' must be an object"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", \"messages\": [{\"role\": \"robot\", \"content\": \"hi\"}]}",
                        400,
                        "'messages[0].role' must be system, developer, user, assistant or tool, got 'robot'"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"max_tokens\": \"5\"}",
                        400,
                        "'max_tokens' must be an integer, got \"5\""),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"max_tokens\": 0}",
                        400,
                        "'max_tokens' must be between 1 and"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"temperature\": \"hot\"}",
                        400,
                        "'temperature' must be a number"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"temperature\": 3}",
                        400,
                        "'temperature' must be between 0.0 and 2.0"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"stream\": \"yes\"}",
                        400,
                        "'stream' must be true or false"),
                Arguments.of(
                        chat, "{\"model\": \"$D\", " + msgs + ", \"n\": 2.5}", 400, "'n' must be an integer, got 2.5"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"tools\": [{\"type\": \"function\"}]}",
                        400,
                        "'tools' is not supported"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"stop\": [1, 2]}",
                        400,
                        "'stop' must be a string or a list of strings"),
                Arguments.of(
                        chat,
                        "{\"model\": \"$D\", " + msgs + ", \"max_tokens\": 100000000}",
                        400,
                        "exceed this deployment's max_model_len"),
                Arguments.of(
                        chat,
                        "{\"model\": \"no-such-deployment\", " + msgs + "}",
                        404,
                        "the model 'no-such-deployment' does not exist"),
                Arguments.of("/v1/completions", "{\"model\": \"$D\"}", 400, "'prompt' is required"),
                Arguments.of(
                        "/v1/completions",
                        "{\"model\": \"$D\", \"prompt\": [1, 2, 300000000]}",
                        400,
                        "'prompt' token 2 must be a token id from 0 to "),
                Arguments.of(
                        "/v1/completions",
                        "{\"model\": \"$D\", \"prompt\": [1, \"two\"]}",
                        400,
                        "'prompt' token 1 must be a token id"),
                Arguments.of(
                        "/v1/completions",
                        "{\"model\": \"$D\", \"prompt\": {\"text\": 1}}",
                        400,
                        "'prompt' must be a string, a list of one string, or token ids, got {\"text\":1}"),
                Arguments.of("/api/compute-pools", "{\"name\": \"x\"}", 400, "'gpu' is required"),
                Arguments.of(
                        "/api/compute-pools",
                        "{\"name\": \"x\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": \"8\"}",
                        400,
                        "'gpus' must be an integer, got \"8\""),
                Arguments.of(
                        "/api/compute-pools",
                        "{\"name\": \"x\", \"gpu\": \"tpu-v9\"}",
                        400,
                        "unknown GPU profile 'tpu-v9'"),
                Arguments.of(
                        "/api/compute-pools",
                        "{\"name\": \"bad name!\", \"gpu\": \"cpu\"}",
                        400,
                        "'name' must be 1 to 200 characters"),
                Arguments.of("/api/models", "{\"name\": \"m\"}", 400, "a model needs 'path'"),
                Arguments.of("/api/models", "{\"name\": \"m\", \"profile\": \"gpt-17\"}", 400, "unknown model profile"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"placement\": {\"compute_pools\":" + " \"$P\"}}",
                        400,
                        "'placement.compute_pools' is required: a list"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"compute_config\": [], \"placement\":"
                                + " {\"compute_pools\": [\"$P\"]}}",
                        400,
                        "'compute_config' must be an object"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"compute_config\": {\"tp\": \"two\"},"
                                + " \"placement\": {\"compute_pools\": [\"$P\"]}}",
                        400,
                        "'compute_config.tp': expected an integer"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"compute_config\": {\"bogus\": 1},"
                                + " \"placement\": {\"compute_pools\": [\"$P\"]}}",
                        400,
                        "'compute_config.bogus': is not a known key"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"mode\": \"real\", \"placement\":"
                                + " {\"compute_pools\": [\"$P\"]}}",
                        400,
                        "'mode' must be 'live' or 'simulated'"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"time_scale\": \"fast\","
                                + " \"placement\": {\"compute_pools\": [\"$P\"]}}",
                        400,
                        "'time_scale' must be a number"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"placement\": {\"compute_pools\":"
                                + " [\"no-such-pool\"]}}",
                        404,
                        "no compute pool named 'no-such-pool'"),
                Arguments.of(
                        "/api/deployments",
                        "{\"name\": \"x\", \"model\": \"$M\", \"compute_config\": {\"tp\": 4},"
                                + " \"placement\": {\"compute_pools\": [\"$P\"]}}",
                        422,
                        "needs tp x min_replicas = 4 GPUs"),
                Arguments.of("/api/keys", "{\"role\": \"user\"}", 400, "'user' is required"),
                Arguments.of("/api/keys", "{\"user\": \"u\", \"role\": \"king\"}", 400, "king"),
                Arguments.of(
                        "/api/permissions",
                        "{\"user\": \"nobody-at-all\", \"deployment\": \"$D\"}",
                        404,
                        "no user named 'nobody-at-all'"));
    }

    @ParameterizedTest(name = "[{index}] {0} {1}")
    @MethodSource("badRequests")
    void malformedRequestIsA4xxWithAClearMessage(String path, String body, int status, String message) {
        TestServer.Reply r = server.post(
                path,
                server.adminKey(),
                body.replace("$D", deployment).replace("$P", pool).replace("$M", model));
        assertThat(r.status()).as(r.body()).isEqualTo(status);
        assertThat(r.contentType()).startsWith("application/json");
        assertThat(r.error().path("message").asText()).contains(message);
    }

    @Test
    void bodyOverTheSizeLimitIs413() {
        String prompt = "a".repeat(TestServer.MAX_REQUEST_BYTES + 1000);
        TestServer.Reply r = server.post(
                "/v1/completions",
                server.adminKey(),
                "{\"model\": \"" + deployment + "\", \"prompt\": \"" + prompt + "\"}");
        assertThat(r.status()).isEqualTo(413);
        assertThat(r.error().path("message").asText()).contains("too large").contains("TWINSERVE_MAX_REQUEST_BYTES");
        assertThat(r.error().path("code").asText()).isEqualTo("request_too_large");
        assertThat(server.get("/health", null).status())
                .as("the server still answers")
                .isEqualTo(200);
    }

    @Test
    void registryBodiesRefuseUnknownKeysWithASuggestion() {
        TestServer.Reply pool = server.post(
                "/api/compute-pools",
                server.adminKey(),
                "{\"name\": \"typo-pool\", \"gpu\": \"h100-sxm-80gb\", \"gpuss\": 8}");
        assertThat(pool.status()).as(pool.body()).isEqualTo(400);
        assertThat(pool.error().path("param").asText()).isEqualTo("gpuss");
        assertThat(pool.error().path("message").asText()).contains("did you mean 'gpus'?");
        TestServer.Reply deployment = server.post(
                "/api/deployments",
                server.adminKey(),
                "{\"name\": \"typo-deployment\", \"model\": \"whatever\", \"time_scal\": 10}");
        assertThat(deployment.status()).as(deployment.body()).isEqualTo(400);
        assertThat(deployment.error().path("param").asText()).isEqualTo("time_scal");
        assertThat(deployment.error().path("message").asText())
                .contains("a deployment")
                .contains("did you mean 'time_scale'?");
        TestServer.Reply model = server.post(
                "/api/models", server.adminKey(), "{\"name\": \"typo-model\", \"profil\": \"llama-3.1-8b\"}");
        assertThat(model.status()).as(model.body()).isEqualTo(400);
        assertThat(model.error().path("message").asText()).contains("did you mean 'profile'?");
        TestServer.Reply pools = server.get("/api/compute-pools", server.adminKey());
        assertThat(pools.status()).isEqualTo(200);
        assertThat(pools.body()).as("nothing was created").doesNotContain("typo-pool");
    }

    @Test
    void anUnknownRequestFieldIsRefusedWithTheClosestFieldAndKnownOnesPassOrAreRefusedByName() {
        String base = "{\"model\": \"" + deployment + "\", \"prompt\": \"hi\", \"max_tokens\": 2, ";
        TestServer.Reply typo = server.post("/v1/completions", server.adminKey(), base + "\"temprature\": 0.5}");
        assertThat(typo.status()).as(typo.body()).isEqualTo(400);
        assertThat(typo.error().path("param").asText()).isEqualTo("temprature");
        assertThat(typo.error().path("message").asText()).contains("did you mean 'temperature'?");
        TestServer.Reply bestOf = server.post("/v1/completions", server.adminKey(), base + "\"best_of\": 2}");
        assertThat(bestOf.status()).as(bestOf.body()).isEqualTo(400);
        assertThat(bestOf.error().path("param").asText()).isEqualTo("best_of");
        assertThat(bestOf.error().path("message").asText()).contains("'best_of' is not supported");
        TestServer.Reply tools = server.post(
                "/v1/chat/completions",
                server.adminKey(),
                "{\"model\": \"" + deployment + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                        + " \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"f\"}}]}");
        assertThat(tools.status()).as(tools.body()).isEqualTo(400);
        assertThat(tools.error().path("param").asText()).isEqualTo("tools");
        TestServer.Reply ignored = server.post(
                "/v1/completions", server.adminKey(), base + "\"user\": \"u-1\", \"metadata\": {\"a\": \"b\"}}");
        assertThat(ignored.status())
                .as("user and metadata are ignored by decision: %s", ignored.body())
                .isEqualTo(200);
    }

    /** Sampling fields out of their range: 400 naming the field, with what is allowed. */
    static Stream<Arguments> samplingOutOfRange() {
        String chat = "/v1/chat/completions";
        String completions = "/v1/completions";
        return Stream.of(
                Arguments.of(chat, "\"n\": 0", "n", "'n' must be between 1 and 128"),
                Arguments.of(chat, "\"n\": 129", "n", "'n' must be between 1 and 128"),
                Arguments.of(chat, "\"presence_penalty\": 2.5", "presence_penalty", "between -2.0 and 2.0"),
                Arguments.of(chat, "\"frequency_penalty\": -2.01", "frequency_penalty", "between -2.0 and 2.0"),
                Arguments.of(chat, "\"frequency_penalty\": \"high\"", "frequency_penalty", "must be a number"),
                Arguments.of(chat, "\"repetition_penalty\": 0", "repetition_penalty", "must be above 0"),
                Arguments.of(chat, "\"repetition_penalty\": -1", "repetition_penalty", "must be between 0.0"),
                Arguments.of(chat, "\"min_p\": 1.5", "min_p", "'min_p' must be between 0.0 and 1.0"),
                Arguments.of(chat, "\"min_p\": -0.1", "min_p", "'min_p' must be between 0.0 and 1.0"),
                Arguments.of(chat, "\"logit_bias\": {\"5\": 101}", "logit_bias.5", "from -100 to 100, got 101"),
                Arguments.of(chat, "\"logit_bias\": {\"5\": \"big\"}", "logit_bias.5", "from -100 to 100"),
                Arguments.of(chat, "\"logit_bias\": {\"hello\": 5}", "logit_bias.hello", "must be token ids"),
                Arguments.of(
                        chat,
                        "\"logit_bias\": {\"256\": 5}",
                        "logit_bias.256",
                        "names token id 256, which is not in this deployment's vocabulary (ids 0 to 255)"),
                Arguments.of(chat, "\"logit_bias\": [1, 2]", "logit_bias", "must be an object"),
                Arguments.of(chat, "\"logprobs\": 3", "logprobs", "'logprobs' must be true or false"),
                Arguments.of(chat, "\"logprobs\": true, \"top_logprobs\": 21", "top_logprobs", "between 0 and 20"),
                Arguments.of(chat, "\"top_logprobs\": 2", "top_logprobs", "needs 'logprobs': true"),
                Arguments.of(completions, "\"logprobs\": 6", "logprobs", "'logprobs' must be between 0 and 5"),
                Arguments.of(completions, "\"logprobs\": true", "logprobs", "'logprobs' must be an integer"),
                Arguments.of(completions, "\"top_logprobs\": 2", "top_logprobs", "completions take 'logprobs'"),
                Arguments.of(completions, "\"max_completion_tokens\": 0", "max_completion_tokens", "between 1 and"),
                Arguments.of(
                        completions,
                        "\"max_completion_tokens\": 200000",
                        "max_completion_tokens",
                        "exceed this deployment's max_model_len"),
                Arguments.of(completions, "\"stop\": [\"a\", \"b\", \"c\", \"d\", \"e\"]", "stop", "at most 4"),
                Arguments.of(completions, "\"seed\": 1.5", "seed", "'seed' must be an integer"));
    }

    @ParameterizedTest
    @MethodSource("samplingOutOfRange")
    void samplingFieldOutOfRangeIsA400NamingIt(String path, String field, String param, String message) {
        String prompt = path.endsWith("chat/completions")
                ? "\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]"
                : "\"prompt\": \"hi\"";
        TestServer.Reply r = server.post(
                path, server.adminKey(), "{\"model\": \"" + deployment + "\", " + prompt + ", " + field + "}");
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo(param);
        assertThat(r.error().path("message").asText()).contains(message);
    }

    @Test
    void publicHealthSaysUpWithoutDetails() {
        TestServer.Reply h = server.get("/health", null);
        assertThat(h.status()).isEqualTo(200);
        assertThat(h.json().path("status").asText()).isEqualTo("UP");
        assertThat(h.body()).doesNotContain("jdbc").doesNotContain("postgres").doesNotContain("redis://");
        assertThat(h.json().has("details")).isFalse();
    }

    @Test
    void nonNumericIdInThePathIsA400() {
        TestServer.Reply r = server.delete("/api/keys/abc", server.adminKey());
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error().path("message").asText()).contains("id");
    }

    @Test
    void unknownPathAndWrongMethodAnswerInOpenAiErrorJson() {
        TestServer.Reply unknown = server.get("/v1/nothing-here", server.adminKey());
        assertThat(unknown.status()).isEqualTo(404);
        assertThat(unknown.error().path("code").asText()).isEqualTo("not_found");
        TestServer.Reply method = server.send(
                "PUT", "/v1/chat/completions", server.adminKey(), HttpRequest.BodyPublishers.ofString("{}"), Map.of());
        assertThat(method.status()).isEqualTo(405);
        assertThat(method.error().path("message").asText()).contains("PUT").contains("POST");
    }

    @Test
    void deploymentThatDoesNotFitIs422WithTheShortfallInGib() {
        TestServer.Reply r = server.post(
                "/api/deployments",
                server.adminKey(),
                "{\"name\": \""
                        + server.unique("too-big") + "\", \"model\": \"" + model
                        + "\", \"compute_config\": {\"kv_cache_len\":"
                        + " 10000000}, \"placement\": {\"compute_pools\": [\"" + pool + "\"]}}");
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        JsonNode e = r.error();
        assertThat(e.path("code").asText()).isEqualTo("insufficient_gpu_memory");
        assertThat(e.path("param").asText()).isEqualTo("compute_config");
        assertThat(e.path("message").asText())
                .containsPattern("short by \\d+\\.\\d\\d GiB per GPU")
                .contains("h100-sxm-80gb");
        TestServer.Reply list = server.get("/api/deployments/" + server.unique("too-big"), server.adminKey());
        assertThat(list.status()).as("nothing was recorded").isEqualTo(404);
    }
}
