package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import io.twinserve.engine.backend.cuda.CudaDriver;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The official OpenAI Java SDK, unmodified (with strict response validation wherever OpenAI's own answers
 * pass it), against a simulated
 * deployment (a model profile on an H100 profile, 1000 times faster than real time) and a live one (a tiny
 * random model on the CPU engine), each with an adapter.
 */
@ExtendWith(TestServer.Extension.class)
class OpenAiSdkTest {
    private static final int MAX_TOKENS = 6;

    private static TestServer server;
    private static Path models;
    private static OpenAIClient client;
    private static OpenAIClient defaultClient;
    private static String sim;
    private static String live;
    private static String liveModel;
    private static String cpuPool;
    private static String gpuPool;

    @BeforeAll
    static void deploy(TestServer s) throws Exception {
        server = s;
        models = Files.createTempDirectory("twinserve-sdk-models");
        Path modelDir = models.resolve("tiny");
        Path adapterDir = models.resolve("tiny-adapter");
        TinyModels.llama(modelDir);
        TinyModels.cli(
                "adapter", "init-random", "--base", modelDir.toString(), "--rank", "4", "-o", adapterDir.toString());

        sim = s.unique("sdk-sim");
        gpuPool = s.unique("sdk-h100");
        String simModel = s.unique("sdk-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + gpuPool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 1}");
        s.create("/api/models", "{\"name\": \"" + simModel + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create("/api/models/" + simModel + "/adapters", "{\"name\": \"fr\", \"rank\": 8}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + sim + "\", \"model\": \"" + simModel + "\", \"mode\": \"simulated\","
                        + " \"compute_config\": {\"max_adapters\": 2}, \"placement\": {\"compute_pools\": [\"" + gpuPool
                        + "\"]},"
                        + " \"time_scale\": 1000}");

        live = s.unique("sdk-live");
        cpuPool = s.unique("sdk-cpu");
        liveModel = s.unique("sdk-tiny");
        s.create("/api/compute-pools", "{\"name\": \"" + cpuPool + "\", \"gpu\": \"cpu\"}");
        s.create("/api/models", "{\"name\": \"" + liveModel + "\", \"path\": \"" + modelDir + "\"}");
        s.create("/api/models/" + liveModel + "/adapters", "{\"name\": \"fr\", \"path\": \"" + adapterDir + "\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + live + "\", \"model\": \"" + liveModel + "\", \"mode\": \"live\","
                        + " \"compute_config\": {\"kv_cache_len\": 1024, \"max_adapters\": 1, \"max_cpu_adapters\": 1},"
                        + " \"placement\": {\"compute_pools\": [\"" + cpuPool + "\"]}}");

        client = OpenAIOkHttpClient.builder()
                .baseUrl(s.uri() + "/v1")
                .apiKey(s.adminKey())
                .maxRetries(0)
                .responseValidation(true)
                .timeout(Duration.ofSeconds(60))
                .build();
        defaultClient = OpenAIOkHttpClient.builder()
                .baseUrl(s.uri() + "/v1")
                .apiKey(s.adminKey())
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @Test
    void liveDeploymentsCheckTheKvCacheDtypeAndItsSizeWhenDeployed() {
        String name = server.unique("sdk-live-kv");
        String fp8 = "{\"name\": \"" + name + "\", \"model\": \"" + liveModel + "\", \"mode\": \"live\","
                + " \"compute_config\": {\"kv_cache_len\": 1024, \"kv_cache_dtype\": \"fp8\"},"
                + " \"placement\": {\"compute_pools\": [\"" + cpuPool + "\"]}}";
        TestServer.Reply r = server.post("/api/deployments", server.adminKey(), fp8);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("message").asText())
                .contains("compute_config.kv_cache_dtype 'fp8' is not supported by the CPU backend");
        // 2^30 tokens x 2 layers x 2 (K, V) x 32 (K/V width) x 2 bytes = 256 GiB of bf16: beyond any test heap
        String huge = fp8.replace(
                "\"kv_cache_len\": 1024, \"kv_cache_dtype\": \"fp8\"",
                "\"kv_cache_len\": 1073741824, \"kv_cache_dtype\": \"auto\"");
        r = server.post("/api/deployments", server.adminKey(), huge);
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.error().path("message").asText())
                .contains("its KV cache needs 256.00 GiB (1073741824 tokens x 1" + " replicas, bf16)");
    }

    @Test
    void liveDeploymentsTakeTheirPoolsBackendAndSayWhyCudaCannotStartHere() {
        String name = server.unique("sdk-live-backend");
        String body = "{\"name\": \"" + name + "\", \"model\": \"" + liveModel + "\", \"mode\": \"live\","
                + " \"compute_config\": {\"kv_cache_len\": 1024%s},"
                + " \"placement\": {\"compute_pools\": [\"%s\"]}}";
        // a value that is not a backend is refused naming the field
        TestServer.Reply r =
                server.post("/api/deployments", server.adminKey(), body.formatted(", \"backend\": \"rocm\"", cpuPool));
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo("compute_config.backend");
        assertThat(r.error().path("message").asText())
                .contains("expected auto, cpu or cuda")
                .contains("\"rocm\"");
        // cuda asked for on a CPU pool, cpu on a GPU pool: the two disagree
        r = server.post("/api/deployments", server.adminKey(), body.formatted(", \"backend\": \"cuda\"", cpuPool));
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.error().path("message").asText()).contains("'cuda' needs a pool with GPUs");
        r = server.post("/api/deployments", server.adminKey(), body.formatted(", \"backend\": \"cpu\"", gpuPool));
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.error().path("message").asText()).contains("'cpu' runs on a pool with gpu: cpu");
        // a simulated deployment runs the twin: a backend means nothing there
        String simulated = body.formatted(", \"backend\": \"cuda\"", gpuPool).replace("\"live\"", "\"simulated\"");
        r = server.post("/api/deployments", server.adminKey(), simulated);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("message").asText()).contains("applies to live deployments only");
        Assumptions.assumeTrue(
                !CudaDriver.driverLibraryFound(), "an NVIDIA driver is installed here: CUDA does not fail this way");
        // on a GPU pool a live deployment runs CUDA (auto): without a driver, one line says what is missing
        r = server.post("/api/deployments", server.adminKey(), body.formatted("", gpuPool));
        assertThat(r.status()).as(r.body()).isEqualTo(422);
        assertThat(r.error().path("code").asText()).isEqualTo("no_backend");
        assertThat(r.error().path("message").asText())
                .contains("runs live on the CUDA backend, which cannot start on this server")
                .contains("libcuda.so.1 not found");
        assertThat(server.get("/api/deployments/" + name, server.adminKey()).status())
                .isEqualTo(404);
    }

    @AfterAll
    static void cleanUp() {
        if (client != null) {
            client.close();
            defaultClient.close();
        }
        server.delete("/api/deployments/" + live, server.adminKey());
        server.delete("/api/deployments/" + sim, server.adminKey());
        TestServer.deleteTree(models);
    }

    private static String deployment(String which) {
        return which.startsWith("sim") ? sim + which.substring(3) : live + which.substring(4);
    }

    @Test
    void listsEveryDeploymentAndAdapterWithItsParent() {
        Map<String, Model> byId = client.models().list().data().stream().collect(Collectors.toMap(Model::id, m -> m));
        assertThat(byId).containsKeys(sim, sim + ":fr", live, live + ":fr");
        assertThat(byId.get(sim + ":fr")._additionalProperties().get("parent")).isEqualTo(JsonValue.from(sim));
        assertThat(byId.get(live + ":fr")._additionalProperties().get("parent")).isEqualTo(JsonValue.from(live));
        assertThat(byId.get(sim)._additionalProperties().get("parent")).isEqualTo(JsonValue.from(null));
        assertThat(byId.get(sim)._additionalProperties().get("mode")).isEqualTo(JsonValue.from("simulated"));
        assertThat(byId.get(live)._additionalProperties().get("mode")).isEqualTo(JsonValue.from("live"));
        assertThat(byId.get(live).ownedBy()).isEqualTo("twinserve");
    }

    @Test
    void retrievesOneModelAsTheListShowsItAndNotOneThatDoesNotExist() {
        Model adapter = client.models().retrieve(sim + ":fr");
        assertThat(adapter.id()).isEqualTo(sim + ":fr");
        assertThat(adapter._additionalProperties().get("parent")).isEqualTo(JsonValue.from(sim));
        assertThat(client.models().retrieve(live).id()).isEqualTo(live);
        assertThatThrownBy(() -> client.models().retrieve(sim + ":nope"))
                .isInstanceOfSatisfying(
                        NotFoundException.class, e -> assertThat(e.statusCode()).isEqualTo(404));
        assertThatThrownBy(() -> client.models().retrieve("no-such-deployment")).isInstanceOf(NotFoundException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "sim:fr", "live", "live:fr"})
    void chatCompletionHasContentFinishReasonAndUsage(String which) {
        String model = deployment(which);
        ChatCompletion c = client.chat()
                .completions()
                .create(ChatCompletionCreateParams.builder()
                        .model(model)
                        .addSystemMessage("You are terse.")
                        .addUserMessage("Say something about twins.")
                        .maxCompletionTokens(MAX_TOKENS)
                        .temperature(0.0)
                        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build());
        assertThat(c.model()).isEqualTo(model);
        assertThat(c.id()).startsWith("chatcmpl-");
        assertThat(c.choices()).hasSize(1);
        ChatCompletion.Choice choice = c.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(choice.message().content())
                .hasValueSatisfying(t -> assertThat(t).isNotEmpty());
        CompletionUsage usage = c.usage().orElseThrow();
        assertThat(usage.completionTokens()).isEqualTo(MAX_TOKENS);
        assertThat(usage.promptTokens()).isGreaterThan(5);
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + usage.completionTokens());
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "sim:fr", "live", "live:fr"})
    void streamedChatEndsWithAFinishReasonThenUsage(String which) {
        String model = deployment(which);
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat()
                .completions()
                .createStreaming(ChatCompletionCreateParams.builder()
                        .model(model)
                        .addUserMessage("Stream a few words.")
                        .maxCompletionTokens(MAX_TOKENS)
                        .streamOptions(ChatCompletionStreamOptions.builder()
                                .includeUsage(true)
                                .build())
                        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build())) {
            chunks = stream.stream().toList();
        }
        assertThat(chunks)
                .extracting(ChatCompletionChunk::id)
                .containsOnly(chunks.get(0).id());
        assertThat(chunks).extracting(ChatCompletionChunk::model).containsOnly(model);
        assertThat(chunks.get(0).choices().get(0).delta().role())
                .hasValue(ChatCompletionChunk.Choice.Delta.Role.ASSISTANT);
        String text = chunks.stream()
                .flatMap(ch -> ch.choices().stream())
                .map(ch -> ch.delta().content().orElse(""))
                .collect(Collectors.joining());
        assertThat(text).isNotEmpty();
        List<ChatCompletionChunk> finishing = chunks.stream()
                .filter(ch ->
                        ch.choices().stream().anyMatch(c -> c.finishReason().isPresent()))
                .toList();
        assertThat(finishing).hasSize(1);
        assertThat(finishing.get(0).choices().get(0).finishReason())
                .hasValue(ChatCompletionChunk.Choice.FinishReason.LENGTH);
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertThat(last.choices())
                .as("the usage chunk comes last, without choices")
                .isEmpty();
        CompletionUsage usage = last.usage().orElseThrow();
        assertThat(usage.completionTokens()).isEqualTo(MAX_TOKENS);
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + MAX_TOKENS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "sim:fr", "live", "live:fr"})
    void completionHasTextFinishReasonAndUsage(String which) {
        String model = deployment(which);
        Completion c = client.completions()
                .create(CompletionCreateParams.builder()
                        .model(model)
                        .prompt("Once upon a time")
                        .maxTokens(MAX_TOKENS)
                        .seed(7)
                        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build());
        assertThat(c.model()).isEqualTo(model);
        assertThat(c.id()).startsWith("cmpl-");
        CompletionChoice choice = c.choices().get(0);
        assertThat(choice.text()).isNotEmpty();
        assertThat(choice.finishReason()).isEqualTo(CompletionChoice.FinishReason.LENGTH);
        CompletionUsage usage = c.usage().orElseThrow();
        assertThat(usage.completionTokens()).isEqualTo(MAX_TOKENS);
        assertThat(usage.promptTokens()).isPositive();
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + MAX_TOKENS);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "sim:fr", "live", "live:fr"})
    void streamedCompletionEndsWithAFinishReasonThenUsage(String which) {
        String model = deployment(which);
        List<Completion> chunks;
        // the SDK's strict validation wants a finish_reason on every completion chunk, which OpenAI's own
        // stream does not send either (null until the last); its default, no validation, reads the stream
        try (StreamResponse<Completion> stream = defaultClient
                .completions()
                .createStreaming(CompletionCreateParams.builder()
                        .model(model)
                        .prompt("Once upon a time")
                        .maxTokens(MAX_TOKENS)
                        .streamOptions(ChatCompletionStreamOptions.builder()
                                .includeUsage(true)
                                .build())
                        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build())) {
            chunks = stream.stream().toList();
        }
        String text = chunks.stream()
                .flatMap(ch -> ch.choices().stream())
                .map(CompletionChoice::text)
                .collect(Collectors.joining());
        assertThat(text).isNotEmpty();
        assertThat(chunks).extracting(Completion::id).containsOnly(chunks.get(0).id());
        List<CompletionChoice> finishing = chunks.stream()
                .flatMap(ch -> ch.choices().stream())
                .filter(ch -> ch._finishReason().asKnown().isPresent())
                .toList();
        assertThat(finishing)
                .extracting(CompletionChoice::finishReason)
                .containsExactly(CompletionChoice.FinishReason.LENGTH);
        Completion last = chunks.get(chunks.size() - 1);
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage().orElseThrow().completionTokens()).isEqualTo(MAX_TOKENS);
    }

    @Test
    void rawStreamEndsWithTheDoneMarker() {
        TestServer.Reply r = server.post(
                "/v1/chat/completions",
                server.adminKey(),
                "{\"model\": \"" + sim + "\","
                        + " \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 3, \"stream\": true}");
        assertThat(r.status()).isEqualTo(200);
        assertThat(r.contentType()).startsWith("text/event-stream");
        assertThat(r.body().strip()).endsWith("data: [DONE]");
        assertThat(r.body().split("\n\n"))
                .allSatisfy(event -> assertThat(event.strip()).startsWith("data: "));
        // not asked for usage: every chunk has a choice (code reading choices[0] works) and none is a usage chunk
        assertThat(r.body().strip().split("\n\n"))
                .filteredOn(event -> !event.strip().equals("data: [DONE]"))
                .allSatisfy(event -> {
                    JsonNode chunk = TestServer.JSON.readTree(event.strip().substring("data: ".length()));
                    assertThat(chunk.path("choices").size()).as(event).isEqualTo(1);
                    assertThat(chunk.has("usage")).as(event).isFalse();
                });
    }

    @Test
    void responseFormatTextIsTheDefaultAndOtherFormatsAreRefusedByName() {
        String body = "{\"model\": \"" + sim + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                + " \"max_tokens\": 2, \"response_format\": %s}";
        TestServer.Reply text =
                server.post("/v1/chat/completions", server.adminKey(), body.formatted("{\"type\": \"text\"}"));
        assertThat(text.status()).as(text.body()).isEqualTo(200);
        TestServer.Reply json =
                server.post("/v1/chat/completions", server.adminKey(), body.formatted("{\"type\": \"json_object\"}"));
        assertThat(json.status()).as(json.body()).isEqualTo(400);
        assertThat(json.error().path("param").asText()).isEqualTo("response_format");
        assertThat(json.error().path("message").asText())
                .contains("json_object")
                .contains("text");
        TestServer.Reply optionsWithoutStream = server.post(
                "/v1/chat/completions",
                server.adminKey(),
                "{\"model\": \"" + sim + "\", \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}],"
                        + " \"stream_options\": {\"include_usage\": true}}");
        assertThat(optionsWithoutStream.status())
                .as(optionsWithoutStream.body())
                .isEqualTo(400);
        assertThat(optionsWithoutStream.error().path("param").asText()).isEqualTo("stream_options");
    }

    @Test
    void unknownModelIsTheSdksNotFound() {
        assertThatThrownBy(() -> client.chat()
                        .completions()
                        .create(ChatCompletionCreateParams.builder()
                                .model(sim + ":nope")
                                .addUserMessage("hi")
                                .build()))
                .isInstanceOfSatisfying(NotFoundException.class, e -> {
                    assertThat(e.statusCode()).isEqualTo(404);
                    assertThat(e.getMessage()).contains("has no adapter 'nope'");
                });
    }
}
