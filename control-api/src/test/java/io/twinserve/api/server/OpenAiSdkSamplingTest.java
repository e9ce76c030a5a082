package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionTokenLogprob;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * OpenAI's sampling fields through the official OpenAI Java SDK, each with its effect, in both modes: a
 * simulated deployment (the twin's timing, placeholder words whose logits favour one word by 60) and a live
 * one (a tiny random model on the CPU engine): {@code n}, {@code logprobs}/{@code top_logprobs} in chat's and
 * the legacy completions' shapes, {@code logit_bias}, the presence, frequency and repetition penalties,
 * {@code min_p}, {@code seed}, {@code stop}, {@code max_completion_tokens} and {@code include_usage}.
 */
@ExtendWith(TestServer.Extension.class)
class OpenAiSdkSamplingTest {
    private static final int MAX_TOKENS = 6;
    /** A long prompt: its many distinct tokens give the repetition penalty something to act on. */
    private static final String LONG_PROMPT = "The quick brown fox jumps over the lazy dog while seven wizards"
            + " quietly judge boxing matches, and a jovial sphinx of black quartz hears my vow about"
            + " twelve dozen liquor jugs packed in crates near the old harbour bridge.";

    private static TestServer server;
    private static Path models;
    private static OpenAIClient client;
    private static OpenAIClient lenient;
    private static String sim;
    private static String live;

    @BeforeAll
    static void deploy(TestServer s) throws Exception {
        server = s;
        models = Files.createTempDirectory("twinserve-sampling-models");
        Path modelDir = models.resolve("tiny");
        TinyModels.llama(modelDir);
        sim = s.unique("sampling-sim");
        String gpuPool = s.unique("sampling-h100");
        String simModel = s.unique("sampling-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + gpuPool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 1}");
        s.create("/api/models", "{\"name\": \"" + simModel + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + sim + "\", \"model\": \"" + simModel + "\", \"mode\": \"simulated\","
                        + " \"placement\": {\"compute_pools\": [\"" + gpuPool + "\"], \"max_ttft_ms\": 3600000},"
                        + " \"time_scale\": 1000}");
        live = s.unique("sampling-live");
        String cpuPool = s.unique("sampling-cpu");
        String liveModel = s.unique("sampling-tiny");
        s.create("/api/compute-pools", "{\"name\": \"" + cpuPool + "\", \"gpu\": \"cpu\"}");
        s.create("/api/models", "{\"name\": \"" + liveModel + "\", \"path\": \"" + modelDir + "\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + live + "\", \"model\": \"" + liveModel + "\", \"mode\": \"live\","
                        + " \"compute_config\": {\"kv_cache_len\": 4096},"
                        + " \"placement\": {\"compute_pools\": [\"" + cpuPool + "\"]}}");
        client = OpenAIOkHttpClient.builder()
                .baseUrl(s.uri() + "/v1")
                .apiKey(s.adminKey())
                .maxRetries(0)
                .responseValidation(true)
                .timeout(Duration.ofSeconds(60))
                .build();
        // the SDK's strict validation wants a finish_reason on every completion chunk, which OpenAI's own
        // stream does not send either
        lenient = OpenAIOkHttpClient.builder()
                .baseUrl(s.uri() + "/v1")
                .apiKey(s.adminKey())
                .maxRetries(0)
                .timeout(Duration.ofSeconds(60))
                .build();
    }

    @AfterAll
    static void cleanUp() {
        if (client != null) {
            client.close();
            lenient.close();
        }
        server.delete("/api/deployments/" + live, server.adminKey());
        server.delete("/api/deployments/" + sim, server.adminKey());
        TestServer.deleteTree(models);
    }

    private static String model(String which) {
        return which.equals("sim") ? sim : live;
    }

    private static ChatCompletion chat(String which, UnaryOperator<ChatCompletionCreateParams.Builder> more) {
        return client.chat()
                .completions()
                .create(more.apply(ChatCompletionCreateParams.builder()
                                .model(model(which))
                                .addUserMessage(LONG_PROMPT)
                                .maxCompletionTokens(MAX_TOKENS)
                                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)))
                        .build());
    }

    private static Completion complete(String which, UnaryOperator<CompletionCreateParams.Builder> more) {
        return client.completions()
                .create(more.apply(CompletionCreateParams.builder()
                                .model(model(which))
                                .prompt(LONG_PROMPT)
                                .maxTokens(MAX_TOKENS)
                                .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true)))
                        .build());
    }

    private static String text(ChatCompletion c) {
        return c.choices().get(0).message().content().orElseThrow();
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void nChoicesHaveDistinctIndexesTheirOwnFinishAndUsageSumsThem(String which) {
        ChatCompletion c = chat(which, b -> b.n(3).temperature(1.0).seed(11));
        assertThat(c.choices()).extracting(ChatCompletion.Choice::index).containsExactly(0L, 1L, 2L);
        assertThat(c.choices())
                .extracting(ChatCompletion.Choice::finishReason)
                .containsOnly(ChatCompletion.Choice.FinishReason.LENGTH);
        CompletionUsage usage = c.usage().orElseThrow();
        assertThat(usage.completionTokens()).isEqualTo(3 * MAX_TOKENS);
        assertThat(usage.totalTokens()).isEqualTo(usage.promptTokens() + 3 * MAX_TOKENS);
        // choice i is seeded with seed + i, as vLLM seeds parallel samples: choice 0 is the n = 1 answer
        ChatCompletion one = chat(which, b -> b.temperature(1.0).seed(11));
        assertThat(c.choices().get(0).message().content())
                .isEqualTo(one.choices().get(0).message().content());
        ChatCompletion second = chat(which, b -> b.temperature(1.0).seed(12));
        assertThat(c.choices().get(1).message().content())
                .isEqualTo(second.choices().get(0).message().content());
        Completion legacy = complete(which, b -> b.n(2).maxTokens(3));
        assertThat(legacy.choices()).extracting(CompletionChoice::index).containsExactly(0L, 1L);
        assertThat(legacy.usage().orElseThrow().completionTokens()).isEqualTo(6);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void streamedChoicesCarryTheirIndexEachFinishesOnceAndUsageComesLastWhenAsked(String which) {
        List<ChatCompletionChunk> chunks;
        try (StreamResponse<ChatCompletionChunk> stream = client.chat()
                .completions()
                .createStreaming(ChatCompletionCreateParams.builder()
                        .model(model(which))
                        .addUserMessage("Stream two answers.")
                        .n(2)
                        .maxCompletionTokens(MAX_TOKENS)
                        .logprobs(true)
                        .streamOptions(ChatCompletionStreamOptions.builder()
                                .includeUsage(true)
                                .build())
                        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build())) {
            chunks = stream.stream().toList();
        }
        List<ChatCompletionChunk.Choice> choices =
                chunks.stream().flatMap(ch -> ch.choices().stream()).toList();
        assertThat(choices).extracting(ChatCompletionChunk.Choice::index).containsOnly(0L, 1L);
        for (long i = 0; i < 2; i++) {
            long index = i;
            List<ChatCompletionChunk.Choice> mine =
                    choices.stream().filter(ch -> ch.index() == index).toList();
            assertThat(mine.get(0).delta().role()).hasValue(ChatCompletionChunk.Choice.Delta.Role.ASSISTANT);
            assertThat(mine.stream().filter(ch -> ch.finishReason().isPresent()))
                    .as("choice %d", index)
                    .singleElement()
                    .satisfies(ch ->
                            assertThat(ch.finishReason()).hasValue(ChatCompletionChunk.Choice.FinishReason.LENGTH));
            // one log-probability per token, streamed with it
            assertThat(mine.stream()
                            .flatMap(ch -> ch.logprobs().stream())
                            .mapToLong(lp -> lp.content().orElseThrow().size())
                            .sum())
                    .isEqualTo(MAX_TOKENS);
        }
        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertThat(last.choices()).isEmpty();
        assertThat(last.usage().orElseThrow().completionTokens()).isEqualTo(2 * MAX_TOKENS);
        assertThat(chunks.subList(0, chunks.size() - 1))
                .allSatisfy(ch -> assertThat(ch.usage()).isEmpty());
        // legacy completions, not asked for usage: every chunk has one choice, and both indexes finish
        List<Completion> legacy;
        try (StreamResponse<Completion> stream = lenient.completions()
                .createStreaming(CompletionCreateParams.builder()
                        .model(model(which))
                        .prompt("Once upon a time")
                        .n(2)
                        .maxTokens(MAX_TOKENS)
                        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build())) {
            legacy = stream.stream().toList();
        }
        assertThat(legacy).allSatisfy(ch -> {
            assertThat(ch.choices()).hasSize(1);
            assertThat(ch.usage()).isEmpty();
        });
        assertThat(legacy.stream()
                        .flatMap(ch -> ch.choices().stream())
                        .filter(ch -> ch._finishReason().asKnown().isPresent())
                        .map(CompletionChoice::index))
                .containsExactlyInAnyOrder(0L, 1L);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void chatLogprobsAreLogProbabilitiesWithTheAskedNumberOfAlternativesInOrder(String which) {
        ChatCompletion c = chat(which, b -> b.temperature(0.0).logprobs(true).topLogprobs(3));
        List<ChatCompletionTokenLogprob> content =
                c.choices().get(0).logprobs().orElseThrow().content().orElseThrow();
        assertThat(content).hasSize(MAX_TOKENS);
        for (ChatCompletionTokenLogprob t : content) {
            assertThat(t.logprob()).isLessThanOrEqualTo(0.0);
            assertThat(t.bytes()).isPresent();
            assertThat(t.topLogprobs()).hasSize(3);
            List<Double> top = t.topLogprobs().stream()
                    .map(ChatCompletionTokenLogprob.TopLogprob::logprob)
                    .toList();
            assertThat(top).isSortedAccordingTo((a, b) -> Double.compare(b, a));
            assertThat(top).allSatisfy(v -> assertThat(v).isLessThanOrEqualTo(0.0));
            // greedy: the sampled token is the most likely one, with the same log-probability
            assertThat(t.topLogprobs().get(0).token()).isEqualTo(t.token());
            assertThat(t.topLogprobs().get(0).logprob()).isEqualTo(t.logprob());
        }
        if (which.equals("sim")) {
            // placeholder words: every token is a whole word, and the text is their concatenation
            assertThat(content.stream().map(ChatCompletionTokenLogprob::token).collect(Collectors.joining()))
                    .isEqualTo(text(c));
        }
        ChatCompletion without = chat(which, b -> b.temperature(0.0));
        assertThat(without.choices().get(0).logprobs()).isEmpty();
        assertThat(text(without)).isEqualTo(text(c));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void completionLogprobsHaveTheLegacyShape(String which) {
        Completion c = complete(which, b -> b.temperature(0.0).logprobs(2));
        CompletionChoice.Logprobs lp = c.choices().get(0).logprobs().orElseThrow();
        List<String> tokens = lp.tokens().orElseThrow();
        assertThat(tokens).hasSize(MAX_TOKENS);
        assertThat(lp.tokenLogprobs().orElseThrow())
                .hasSize(MAX_TOKENS)
                .allSatisfy(v -> assertThat(v).isLessThanOrEqualTo(0.0));
        List<CompletionChoice.Logprobs.TopLogprob> top = lp.topLogprobs().orElseThrow();
        assertThat(top).hasSize(MAX_TOKENS);
        for (int i = 0; i < MAX_TOKENS; i++) {
            Map<String, JsonValue> alternatives = top.get(i)._additionalProperties();
            assertThat(alternatives).hasSizeBetween(1, 2).containsKey(tokens.get(i));
        }
        List<Long> offsets = lp.textOffset().orElseThrow();
        assertThat(offsets).hasSize(MAX_TOKENS).startsWith(0L);
        for (int i = 1; i < MAX_TOKENS; i++) {
            assertThat(offsets.get(i))
                    .isEqualTo(offsets.get(i - 1) + tokens.get(i - 1).length());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void logitBiasOfPlus100ForcesOneTokenEvenWhenSampling(String which) {
        String forcedId = "42";
        Completion c = complete(
                which,
                b -> b.temperature(1.0)
                        .seed(3)
                        .logprobs(0)
                        .logitBias(CompletionCreateParams.LogitBias.builder()
                                .putAdditionalProperty(forcedId, JsonValue.from(100))
                                .build()));
        List<String> tokens =
                c.choices().get(0).logprobs().orElseThrow().tokens().orElseThrow();
        assertThat(tokens).hasSize(MAX_TOKENS);
        assertThat(Set.copyOf(tokens)).hasSize(1);
        Completion free = complete(which, b -> b.temperature(1.0).seed(3).logprobs(0));
        assertThat(free.choices().get(0).logprobs().orElseThrow().tokens().orElseThrow())
                .isNotEqualTo(tokens);
        // -100 on every token but one leaves only that one, whatever the sampler draws
        CompletionCreateParams.LogitBias.Builder allButOne = CompletionCreateParams.LogitBias.builder();
        int vocab = server.deployment(model(which)).vocabSize();
        for (int id = 0; id < vocab; id++) {
            if (id != 7) {
                allButOne.putAdditionalProperty(Integer.toString(id), JsonValue.from(-100));
            }
        }
        Completion only = complete(which, b -> b.temperature(1.0).logprobs(0).logitBias(allButOne.build()));
        assertThat(Set.copyOf(
                        only.choices().get(0).logprobs().orElseThrow().tokens().orElseThrow()))
                .hasSize(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void aLargeRepetitionPenaltyChangesTheGreedyOutput(String which) {
        String plain = text(chat(which, b -> b.temperature(0.0).maxCompletionTokens(16)));
        String penalised = text(chat(
                which,
                b -> b.temperature(0.0)
                        .maxCompletionTokens(16)
                        .putAdditionalBodyProperty("repetition_penalty", JsonValue.from(10.0))));
        assertThat(penalised).isNotEqualTo(plain);
        String neutral = text(chat(
                which,
                b -> b.temperature(0.0)
                        .maxCompletionTokens(16)
                        .putAdditionalBodyProperty("repetition_penalty", JsonValue.from(1.0))
                        .presencePenalty(0.0)
                        .frequencyPenalty(0.0)));
        assertThat(neutral).isEqualTo(plain);
    }

    @Test
    void frequencyAndPresencePenaltiesChangeTheLiveModelsGreedyOutput() {
        String plain = text(chat("live", b -> b.temperature(0.0).maxCompletionTokens(24)));
        String frequency = text(
                chat("live", b -> b.temperature(0.0).maxCompletionTokens(24).frequencyPenalty(2.0)));
        String presence = text(
                chat("live", b -> b.temperature(0.0).maxCompletionTokens(24).presencePenalty(2.0)));
        assertThat(frequency).isNotEqualTo(plain);
        assertThat(presence).isNotEqualTo(plain);
    }

    @Test
    void simulatedDeploymentsAcceptTheSamePenalties() {
        // placeholder words lead by 60: penalties of at most 2 per occurrence leave them in place, as a model
        // with a confident next token would
        ChatCompletion c = chat(
                "sim",
                b -> b.temperature(0.7)
                        .presencePenalty(2.0)
                        .frequencyPenalty(-2.0)
                        .putAdditionalBodyProperty("min_p", JsonValue.from(0.05)));
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(text(c)).isEqualTo(text(chat("sim", b -> b.temperature(0.0))));
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void minPOfOneIsGreedy(String which) {
        String greedy = text(chat(which, b -> b.temperature(0.0).maxCompletionTokens(12)));
        for (long seed = 1; seed <= 3; seed++) {
            long s = seed;
            String minP = text(chat(
                    which,
                    b -> b.temperature(1.0)
                            .seed(s)
                            .maxCompletionTokens(12)
                            .putAdditionalBodyProperty("min_p", JsonValue.from(1.0))));
            assertThat(minP).isEqualTo(greedy);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void aSeedReproducesASampledAnswer(String which) {
        String a = text(chat(which, b -> b.temperature(1.0).seed(5).maxCompletionTokens(16)));
        String b2 = text(chat(which, b -> b.temperature(1.0).seed(5).maxCompletionTokens(16)));
        assertThat(b2).isEqualTo(a);
        if (which.equals("live")) {
            // a random model's distribution is wide: another seed samples another answer
            String other = text(chat(which, b -> b.temperature(1.0).seed(6).maxCompletionTokens(16)));
            assertThat(other).isNotEqualTo(a);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void aStopStringEndsTheAnswerBeforeIt(String which) {
        String full = text(chat(which, b -> b.temperature(0.0).maxCompletionTokens(16)));
        // a piece from the middle of the greedy answer; the answer stops before its first occurrence
        String stop = full.substring(full.length() / 2, full.length() / 2 + 3);
        ChatCompletion c =
                chat(which, b -> b.temperature(0.0).maxCompletionTokens(16).stop(stop));
        assertThat(text(c)).isEqualTo(full.substring(0, full.indexOf(stop)));
        assertThat(c.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
    }

    @ParameterizedTest
    @ValueSource(strings = {"sim", "live"})
    void maxCompletionTokensBoundsEveryChoice(String which) {
        ChatCompletion c = chat(which, b -> b.n(2).maxCompletionTokens(3));
        assertThat(c.choices())
                .extracting(ChatCompletion.Choice::finishReason)
                .containsOnly(ChatCompletion.Choice.FinishReason.LENGTH);
        assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(6);
    }

    @Test
    void nChoicesOfALiveRequestPrefillThePromptAboutOnce() {
        DeploymentRuntimeProbe probe = new DeploymentRuntimeProbe(live);
        // a prompt no earlier request began with, so that nothing of it is cached yet
        String prompt = UUID.randomUUID() + " " + LONG_PROMPT;
        long before = probe.promptTokensComputed();
        Completion c = client.completions()
                .create(CompletionCreateParams.builder()
                        .model(live)
                        .prompt(prompt)
                        .n(4)
                        .maxTokens(2)
                        .putAdditionalBodyProperty("ignore_eos", JsonValue.from(true))
                        .build());
        long computed = probe.promptTokensComputed() - before;
        long promptTokens = c.usage().orElseThrow().promptTokens();
        int blockSize = probe.blockSize();
        // the first choice computes the prompt; the other three only its last, partial block
        assertThat(computed).isLessThanOrEqualTo(promptTokens + 3L * blockSize);
        assertThat(computed).isLessThan(2 * promptTokens);
        System.out.printf(
                "n=4, prompt %d tokens: %d prompt tokens computed (%d without sharing)%n",
                promptTokens, computed, 4 * promptTokens);
    }

    /** What a deployment's replica counted. */
    private record DeploymentRuntimeProbe(String name) {
        long promptTokensComputed() {
            return server.deployment(name).stats(0).promptTokensComputed();
        }

        int blockSize() {
            return server.deployment(name).blockSize();
        }
    }
}
