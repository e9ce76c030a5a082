package io.twinserve.engine.backend.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.perf.StepShape;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SimulatedBackendTest {
    private static final double TIME_SCALE = 1000;

    /** Llama 3.1 8B on an H100 with two adapter slots, three host copies and small batches. */
    static ResolvedReplica replica() throws IOException {
        return Deployments.resolve(Deployments.parse("""
        model: llama-3.1-8b
        gpu: h100-sxm-80gb
        replica:
          max_adapters: 2
          max_cpu_adapters: 3
          max_num_seqs: 6
          max_num_batched_tokens: 64
          max_model_len: 1024
        """, Path.of("simulated.yaml")), Profiles.builtIn());
    }

    /** The twin's performance model, keeping a copy of every shape and every adapter rank it prices. */
    static final class RecordingPerfModel implements PerfModel {
        final PerfModel twin;
        final List<StepShape> shapes = new ArrayList<>();
        final List<Integer> slotLoadRanks = new ArrayList<>();
        final List<Integer> storageLoadRanks = new ArrayList<>();

        RecordingPerfModel(PerfModel twin) {
            this.twin = twin;
        }

        @Override
        public long stepNs(StepShape step) {
            shapes.add(step.copy());
            return twin.stepNs(step);
        }

        @Override
        public long adapterLoadFromCpuNs(int rank, int slotRank) {
            slotLoadRanks.add(rank);
            return twin.adapterLoadFromCpuNs(rank, slotRank);
        }

        @Override
        public long adapterLoadFromStorageNs(int rank) {
            storageLoadRanks.add(rank);
            return twin.adapterLoadFromStorageNs(rank);
        }
    }

    record Outcome(StringBuilder text, CompletableFuture<Completion> done) {}

    static Outcome submit(LiveEngine engine, String adapter, int[] prompt, SamplingParams sampling) {
        Outcome o = new Outcome(new StringBuilder(), new CompletableFuture<>());
        engine.submit(new GenerationRequest(adapter, prompt, sampling, 0), new TokenSink() {
            @Override
            public void onToken(int tokenId, String text) {
                o.text.append(text);
            }

            @Override
            public void onFinished(Completion completion) {
                o.done.complete(completion);
            }
        });
        return o;
    }

    static String words(int[] ids) {
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            text.append(PlaceholderVocabulary.word(id));
        }
        return text.toString();
    }

    @Test
    void concurrentRequestsWithProfileOnlyAdaptersGetMaxTokensOfPlaceholderWordsAtTheTwinsPredictedCost()
            throws Exception {
        ResolvedReplica replica = replica();
        RecordingPerfModel perf = new RecordingPerfModel(replica.perf());
        SimulatedBackend backend = new SimulatedBackend(
                perf, replica.scheduler(), SimulatedBackend.modelConfig(replica.model()), TIME_SCALE);
        int[] ranks = {8, 16, 8, 16};
        List<int[]> prompts = new ArrayList<>();
        List<String> adapterOf = new ArrayList<>();
        List<Integer> maxTokens = new ArrayList<>();
        List<Outcome> outcomes = new ArrayList<>();
        Completion twin;
        try (LiveEngine engine =
                new LiveEngine(backend, backend.liveConfig(), new PlaceholderVocabulary(), List.of())) {
            for (int i = 0; i < ranks.length; i++) {
                engine.registerAdapter("a" + i, ranks[i], backend.adapterLoader(ranks[i]));
            }
            Random random = new Random(3);
            for (int r = 0; r < 14; r++) {
                int[] prompt = random.ints(20 + random.nextInt(100), 0, PlaceholderVocabulary.SIZE)
                        .toArray();
                String adapter = r % 5 == 4 ? null : "a" + r % 4;
                int max = 8 + random.nextInt(40);
                // sampled and greedy requests alike: the logits leave one word to pick
                SamplingParams sampling = r % 2 == 0
                        ? SamplingParams.greedy(max)
                        : new SamplingParams(0.8, 40, 0.95, r, max, List.of(), List.of(), false);
                prompts.add(prompt);
                adapterOf.add(adapter);
                maxTokens.add(max);
                outcomes.add(submit(engine, adapter, prompt, sampling));
            }
            // the same prompt sampled at temperature 1 gets the greedy request's words
            Outcome sampledTwin = submit(
                    engine,
                    adapterOf.get(0),
                    prompts.get(0),
                    new SamplingParams(1.0, 0, 1, 99, maxTokens.get(0), List.of(), List.of(), false));
            for (Outcome o : outcomes) {
                o.done.get(60, TimeUnit.SECONDS);
            }
            twin = sampledTwin.done.get(60, TimeUnit.SECONDS);
            assertThat(twin.tokenIds())
                    .containsExactly(outcomes.get(0).done.get().tokenIds());
        }

        long promptComputed = 0;
        long adapterTokens = 0;
        long sampled = 0;
        for (int r = 0; r < outcomes.size(); r++) {
            Completion c = outcomes.get(r).done.get();
            int max = maxTokens.get(r);
            assertThat(c.reason()).as("request %d", r).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(c.error()).isNull();
            assertThat(c.completionTokens()).isEqualTo(max);
            assertThat(c.tokenIds()).hasSize(max);
            assertThat(Arrays.stream(c.tokenIds()).boxed().toList())
                    .allSatisfy(id -> assertThat(id).isBetween(0, PlaceholderVocabulary.SIZE - 1));
            assertThat(c.text())
                    .isEqualTo(words(c.tokenIds()))
                    .isEqualTo(outcomes.get(r).text.toString());
            long computed = prompts.get(r).length - c.cachedPromptTokens() + max - 1;
            promptComputed += computed;
            adapterTokens += adapterOf.get(r) == null ? 0 : computed;
            sampled += max;
        }
        // the twin's cost of the very shapes the scheduler planned, recomputed here, is what the backend waited on
        long predicted = 0;
        long newTokens = 0;
        long shapeAdapterTokens = 0;
        long shapeSampled = 0;
        long starts = 0;
        for (StepShape shape : perf.shapes) {
            predicted += replica.perf().stepNs(shape);
            newTokens += shape.newTokens;
            shapeAdapterTokens += shape.adapterTokens;
            shapeSampled += shape.sampledTokens;
            starts += shape.newRequests;
            assertThat(shape.distinctAdapters)
                    .as("at most one adapter per slot")
                    .isLessThanOrEqualTo(2);
        }
        long predictedLoads = 0;
        for (int rank : perf.slotLoadRanks) {
            predictedLoads += replica.perf().adapterLoadFromCpuNs(rank, 16);
        }
        for (int rank : perf.storageLoadRanks) {
            predictedLoads += replica.perf().adapterLoadFromStorageNs(rank);
        }
        SimulatedBackend.Stats stats = backend.stats();
        assertThat(stats.steps()).isEqualTo(perf.shapes.size());
        assertThat(stats.predictedStepNs()).isEqualTo(predicted);
        assertThat(stats.predictedAdapterLoadNs()).isEqualTo(predictedLoads);
        assertThat(stats.waitedNs()).isPositive();
        // the shapes describe exactly the tokens the requests computed and sampled, the sampled twin included
        int twinComputed = prompts.get(0).length - twin.cachedPromptTokens() + twin.completionTokens() - 1;
        assertThat(newTokens).isEqualTo(promptComputed + twinComputed);
        assertThat(shapeAdapterTokens).isEqualTo(adapterTokens + twinComputed);
        assertThat(shapeSampled).isEqualTo(sampled + twin.completionTokens());
        assertThat(starts).as("no preemptions in a KV cache this large").isEqualTo(outcomes.size() + 1);
        // four adapters through two slots: each was read from storage and copied into a slot at least once
        assertThat(stats.storageLoads()).isGreaterThanOrEqualTo(4);
        assertThat(stats.adapterLoads()).isGreaterThanOrEqualTo(4);
        assertThat(perf.storageLoadRanks).contains(8, 16);
    }

    @Test
    void aCancelledRequestEndsAtOnceWhileOthersGoOn() throws Exception {
        ResolvedReplica replica = replica();
        // real time: 1,000 decode steps of an 8B model take seconds, so the cancel always lands mid-request
        SimulatedBackend backend = new SimulatedBackend(replica, 1.0);
        try (LiveEngine engine =
                new LiveEngine(backend, backend.liveConfig(), new PlaceholderVocabulary(), List.of())) {
            CompletableFuture<Void> firstToken = new CompletableFuture<>();
            CompletableFuture<Completion> cancelled = new CompletableFuture<>();
            LiveEngine.Handle handle = engine.submit(
                    new GenerationRequest(
                            null, PlaceholderVocabulary.encode("a long one"), SamplingParams.greedy(1_000), 0),
                    new TokenSink() {
                        @Override
                        public void onToken(int tokenId, String text) {
                            firstToken.complete(null);
                        }

                        @Override
                        public void onFinished(Completion completion) {
                            cancelled.complete(completion);
                        }
                    });
            firstToken.get(60, TimeUnit.SECONDS);
            handle.cancel();
            Completion c = cancelled.get(60, TimeUnit.SECONDS);
            assertThat(c.reason()).isEqualTo(Completion.FinishReason.CANCELLED);
            assertThat(c.completionTokens()).isBetween(1, 999);
            assertThat(c.tokenIds()).hasSize(c.completionTokens());
            // cancelling again, or after the end, does nothing
            handle.cancel();
            Outcome after = submit(engine, null, PlaceholderVocabulary.encode("a short one"), SamplingParams.greedy(4));
            assertThat(after.done.get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
        }
    }

    @Test
    void theLoopsCountersMatchTheBackends() throws Exception {
        ResolvedReplica replica = replica();
        SimulatedBackend backend = new SimulatedBackend(replica, TIME_SCALE);
        LiveEngine engine = new LiveEngine(backend, backend.liveConfig(), new PlaceholderVocabulary(), List.of());
        try (engine) {
            for (int i = 0; i < 3; i++) {
                engine.registerAdapter("a" + i, 8, backend.adapterLoader(8));
            }
            List<Outcome> outcomes = new ArrayList<>();
            for (int r = 0; r < 9; r++) {
                outcomes.add(submit(
                        engine,
                        "a" + r % 3,
                        PlaceholderVocabulary.encode("request " + r + " asks for words"),
                        SamplingParams.greedy(16)));
            }
            for (Outcome o : outcomes) {
                assertThat(o.done.get(60, TimeUnit.SECONDS).completionTokens()).isEqualTo(16);
            }
        }
        // read once the loop has stopped: it publishes its counters after it tells the sinks
        LiveEngine.Stats engineStats = engine.stats();
        SimulatedBackend.Stats stats = backend.stats();
        assertThat(stats.steps()).isEqualTo(engineStats.steps());
        assertThat(stats.adapterLoads()).isEqualTo(engineStats.adapterSlotLoads());
        assertThat(stats.storageLoads()).isEqualTo(engineStats.adapterStorageLoads());
        assertThat(engineStats.generatedTokens()).isEqualTo(9 * 16);
    }

    @Test
    void anUnregisteredAdapterFinishesItsRequestsRefusesNewOnesAndCanBeRegisteredAgain() throws Exception {
        ResolvedReplica replica = replica();
        RecordingPerfModel perf = new RecordingPerfModel(replica.perf());
        SimulatedBackend backend = new SimulatedBackend(
                perf, replica.scheduler(), SimulatedBackend.modelConfig(replica.model()), TIME_SCALE);
        try (LiveEngine engine =
                new LiveEngine(backend, backend.liveConfig(), new PlaceholderVocabulary(), List.of())) {
            engine.registerAdapter("x", 8, backend.adapterLoader(8));
            int[] prompt = PlaceholderVocabulary.encode("an adapter that leaves while its request runs");
            Outcome before = submit(engine, "x", prompt, SamplingParams.greedy(32));
            engine.unregisterAdapter("x");

            assertThat(engine.adapterNames()).isEmpty();
            assertThatThrownBy(() -> submit(engine, "x", prompt, SamplingParams.greedy(4)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("adapter 'x' is not registered");
            assertThatThrownBy(() -> engine.unregisterAdapter("x"))
                    .hasMessageContaining("adapter 'x' is not registered");
            Completion c = before.done.get(60, TimeUnit.SECONDS);
            assertThat(c.reason()).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(c.completionTokens()).isEqualTo(32);

            engine.registerAdapter("x", 16, backend.adapterLoader(16));
            assertThatThrownBy(() -> engine.registerAdapter("x", 8, backend.adapterLoader(8)))
                    .hasMessageContaining("adapter 'x' is already registered");
            Outcome after = submit(engine, "x", prompt, SamplingParams.greedy(8));
            assertThat(after.done.get(60, TimeUnit.SECONDS).completionTokens()).isEqualTo(8);
            assertThat(engine.adapterNames()).containsExactly("x");
        }
        // registered again, it is a new adapter: read from storage at its new rank, though the old copy may linger
        assertThat(perf.storageLoadRanks).containsExactly(8, 16);
        assertThat(perf.slotLoadRanks).containsExactly(8, 16);
    }

    @Test
    void rejectsAdaptersAboveTheSlotRankTimeScalesBelowTheMinimumAndBatchesWithoutAShape() throws Exception {
        ResolvedReplica replica = replica();
        assertThatThrownBy(() -> new SimulatedBackend(replica, 1e-4)).hasMessageContaining("time_scale must be");
        SimulatedBackend backend = new SimulatedBackend(replica, TIME_SCALE);
        assertThatThrownBy(() -> backend.adapterLoader(32)).hasMessageContaining("max_adapter_rank 16");
        try (LiveEngine engine =
                new LiveEngine(backend, backend.liveConfig(), new PlaceholderVocabulary(), List.of())) {
            assertThatThrownBy(() -> engine.registerAdapter("big", 32, (name, base) -> null))
                    .hasMessageContaining("rank 32")
                    .hasMessageContaining("max_adapter_rank");
            assertThatThrownBy(() ->
                            submit(engine, null, new int[] {PlaceholderVocabulary.SIZE}, SamplingParams.greedy(2)))
                    .hasMessageContaining("outside the vocabulary of 256");
        }
        ForwardBatch batch = new ForwardBatch();
        batch.add(new int[] {1}, 0, 1, 0, -1, new int[] {0}, 1, true);
        assertThatThrownBy(() -> backend.forward(batch, new float[PlaceholderVocabulary.SIZE]))
                .hasMessageContaining("carries none");
    }

    @Test
    void theServedModelKeepsTheProfilesShapeAndSamplingUsesThePlaceholderVocabulary() throws Exception {
        ResolvedReplica replica = replica();
        SimulatedBackend backend = new SimulatedBackend(replica, TIME_SCALE);
        assertThat(backend.servedModel().numLayers()).isEqualTo(32);
        assertThat(backend.servedModel().numKvHeads()).isEqualTo(8);
        assertThat(backend.servedModel().vocabSize()).isEqualTo(128256);
        assertThat(backend.config().vocabSize()).isEqualTo(PlaceholderVocabulary.SIZE);
        assertThat(backend.config().eosTokenIds()).isEmpty();
        assertThat(backend.kvCacheTokens()).isEqualTo(replica.scheduler().kvCacheTokens());
        assertThat(backend.adapterSlots()).isEqualTo(2);
        assertThat(backend.liveConfig().maxNumBatchedTokens()).isEqualTo(64);
    }
}
