package io.twinserve.engine.live;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.backend.BackendSpec;
import io.twinserve.engine.backend.Backends;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.backend.ForwardingBackend;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.twin.sched.Scheduler;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LiveEngineTest {
    @TempDir
    static Path tmp;

    static Path model;
    static List<Path> adapterDirs = new ArrayList<>();
    /** One letter per token id, so stop strings can be tested without a tokenizer. */
    static final Detokenizer LETTERS = () -> id -> String.valueOf((char) ('a' + id % 26));

    @BeforeAll
    static void writeModel() throws Exception {
        model = tmp.resolve("model");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 300, DType.BF16, false, 1, List.of(2)),
                        3,
                        1),
                model);
        int[] ranks = {4, 8, 16};
        for (int i = 0; i < ranks.length; i++) {
            Path dir = tmp.resolve("adapter" + i);
            RandomModel.writeAdapter(model, ranks[i], ranks[i], List.of(Projection.values()), 20 + i, DType.F32, dir);
            adapterDirs.add(dir);
        }
    }

    record Outcome(List<Integer> streamed, StringBuilder text, CompletableFuture<Completion> done) {}

    static Outcome submit(LiveEngine engine, GenerationRequest request) {
        Outcome o = new Outcome(new ArrayList<>(), new StringBuilder(), new CompletableFuture<>());
        engine.submit(request, new TokenSink() {
            @Override
            public void onToken(int tokenId, String text) {
                o.streamed.add(tokenId);
                o.text.append(text);
            }

            @Override
            public void onFinished(Completion completion) {
                o.done.complete(completion);
            }
        });
        return o;
    }

    /** Greedy decoding of one request alone, with its own contiguous KV blocks: what batching must not change. */
    static int[] solo(ModelFiles files, Integer adapter, int[] prompt, int n) {
        try (CpuBackend b = Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 1, 512, 4, 1)))) {
            if (adapter != null) {
                b.loadAdapter(0, LoraAdapter.load("a" + adapter, adapterDirs.get(adapter), files.config()));
            }
            int[] tokens = new int[prompt.length + n];
            System.arraycopy(prompt, 0, tokens, 0, prompt.length);
            int[] blocks = new int[128];
            for (int i = 0; i < blocks.length; i++) {
                blocks[i] = i;
            }
            ForwardBatch batch = new ForwardBatch();
            float[] logits = new float[files.config().vocabSize()];
            int length = prompt.length;
            int context = 0;
            for (int step = 0; step < n; step++) {
                batch.clear();
                batch.add(
                        tokens,
                        context,
                        length - context,
                        context,
                        adapter == null ? -1 : 0,
                        blocks,
                        blocks.length,
                        true);
                b.forward(batch, logits);
                context = length;
                int best = 0;
                for (int v = 1; v < logits.length; v++) {
                    if (logits[v] > logits[best]) {
                        best = v;
                    }
                }
                tokens[length++] = best;
            }
            return Arrays.copyOfRange(tokens, prompt.length, length);
        }
    }

    @Test
    void concurrentRequestsWithPreemptionAndAdapterSwapsGiveTheTokensEachWouldGetAlone() throws Exception {
        Random random = new Random(9);
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 2, 80, 4, 2)));
                LiveEngine engine =
                        new LiveEngine(backend, new LiveConfig(6, 16, true, true, 1, 64), LETTERS, List.of())) {
            // every step of two rows or more samples them in parallel (a 300-token vocabulary is far below the
            // default threshold): each request must still get the tokens it would get alone
            engine.sampleInParallelFrom(0);
            for (int i = 0; i < adapterDirs.size(); i++) {
                engine.registerAdapter("a" + i, adapterDirs.get(i));
            }
            List<int[]> prompts = new ArrayList<>();
            List<Integer> adapterOf = new ArrayList<>();
            List<Outcome> outcomes = new ArrayList<>();
            int[] shared = random.ints(8, 3, 300).toArray();
            for (int r = 0; r < 10; r++) {
                int[] prompt = random.ints(6 + random.nextInt(14), 3, 300).toArray();
                if (r % 3 == 0) {
                    // a shared 8-token prefix: two full blocks the prefix cache can reuse
                    System.arraycopy(shared, 0, prompt, 0, Math.min(8, prompt.length));
                }
                Integer adapter = r % 4 == 3 ? null : r % 3;
                prompts.add(prompt);
                adapterOf.add(adapter);
                outcomes.add(submit(
                        engine,
                        new GenerationRequest(
                                adapter == null ? null : "a" + adapter,
                                prompt,
                                new SamplingParams(0, 0, 1, 0, 12, List.of(), List.of(), true),
                                0)));
            }
            for (int r = 0; r < prompts.size(); r++) {
                Completion c = outcomes.get(r).done.get(60, TimeUnit.SECONDS);
                int[] expected = solo(files, adapterOf.get(r), prompts.get(r), 12);
                assertThat(c.reason()).isEqualTo(Completion.FinishReason.LENGTH);
                assertThat(c.tokenIds())
                        .as("request %d (adapter %s)", r, adapterOf.get(r))
                        .containsExactly(expected);
                assertThat(outcomes.get(r).streamed)
                        .containsExactlyElementsOf(
                                Arrays.stream(expected).boxed().toList());
                assertThat(c.completionTokens()).isEqualTo(12);
            }
            LiveEngine.Stats stats = engine.stats();
            // 80 KV tokens cannot hold six requests of up to 31 tokens: the scheduler had to preempt
            assertThat(stats.preemptions()).isPositive();
            // three adapters, two slots and one host copy: more loads than slots (an adapter replaced another in its
            // slot), each adapter read from storage at least once (how many more depends on the eviction order: with
            // the recency of the last use, as vLLM keeps it, none had to be read twice here)
            assertThat(stats.adapterSlotLoads()).isGreaterThan(2);
            assertThat(stats.adapterStorageLoads()).isGreaterThanOrEqualTo(3);
            assertThat(stats.finished()).isEqualTo(10);
        }
    }

    @Test
    void stopStringsStopTokensAndMaxTokensEndGeneration() throws Exception {
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 2, 256, 4, 1)));
                LiveEngine engine = new LiveEngine(backend, LiveConfig.defaults(128), LETTERS, List.of())) {
            int[] prompt = {5, 6, 7, 8, 9};
            int[] free = solo(files, null, prompt, 10);
            StringBuilder letters = new StringBuilder();
            for (int t : free) {
                letters.append((char) ('a' + t % 26));
            }
            // stop string: the letters of tokens 4 and 5; the text before it comes back, nothing after
            String stop = letters.substring(4, 6);
            int cut = letters.indexOf(stop);
            Outcome byString = submit(
                    engine,
                    new GenerationRequest(
                            null, prompt, new SamplingParams(0, 0, 1, 0, 10, List.of(stop), List.of(), true), 0));
            Completion c = byString.done.get(30, TimeUnit.SECONDS);
            assertThat(c.reason()).isEqualTo(Completion.FinishReason.STOP);
            assertThat(c.text()).isEqualTo(letters.substring(0, cut));
            assertThat(byString.text.toString()).isEqualTo(letters.substring(0, cut));
            // stop token: the third generated token
            Outcome byToken = submit(
                    engine,
                    new GenerationRequest(
                            null, prompt, new SamplingParams(0, 0, 1, 0, 10, List.of(), List.of(free[2]), true), 0));
            Completion t = byToken.done.get(30, TimeUnit.SECONDS);
            assertThat(t.reason()).isEqualTo(Completion.FinishReason.STOP);
            assertThat(t.tokenIds())
                    .containsExactly(Arrays.copyOf(
                            free,
                            Arrays.asList(Arrays.stream(free).boxed().toArray(Integer[]::new))
                                            .indexOf(free[2])
                                    + 1));
            Outcome byLength = submit(engine, new GenerationRequest(null, prompt, SamplingParams.greedy(3), 0));
            assertThat(byLength.done.get(30, TimeUnit.SECONDS).completionTokens())
                    .isEqualTo(3);
        }
    }

    @Test
    void seededSamplingRepeatsAndDiffersAcrossSeeds() throws Exception {
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 2, 512, 4, 1)));
                LiveEngine engine = new LiveEngine(backend, LiveConfig.defaults(128), LETTERS, List.of())) {
            // rows sampled in parallel whenever a step has two or more
            engine.sampleInParallelFrom(0);
            int[] prompt = {11, 12, 13};
            // top-k and top-p; then a temperature alone, which draws over the whole vocabulary (the vector path)
            for (SamplingParams params : new SamplingParams[] {
                new SamplingParams(1.5, 50, 0.95, 1, 16, List.of(), List.of(), true),
                new SamplingParams(0.9, 0, 1, 1, 16, List.of(), List.of(), true)
            }) {
                List<Outcome> runs = new ArrayList<>();
                for (long seed : new long[] {1, 1, 2}) {
                    SamplingParams seeded = new SamplingParams(
                            params.temperature(), params.topK(), params.topP(), seed, 16, List.of(), List.of(), true);
                    runs.add(submit(engine, new GenerationRequest(null, prompt, seeded, 0)));
                }
                int[] first = runs.get(0).done.get(30, TimeUnit.SECONDS).tokenIds();
                assertThat(runs.get(1).done.get(30, TimeUnit.SECONDS).tokenIds())
                        .as("top-k %d", params.topK())
                        .containsExactly(first);
                assertThat(runs.get(2).done.get(30, TimeUnit.SECONDS).tokenIds())
                        .as("top-k %d", params.topK())
                        .isNotEqualTo(first);
            }
        }
    }

    /**
     * As vLLM caches the blocks its answers fill: a chat's next turn, whose prompt repeats the previous answer,
     * reuses the answer's blocks too, not only the previous prompt's; and the answer is the same as computing it all.
     */
    @Test
    void aNextTurnReusesTheBlocksOfThePreviousAnswer() throws Exception {
        int[] prompt = {3, 9, 27, 4, 5, 6};
        int[] answer;
        int[] next;
        Completion second;
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 2, 512, 4, 1)));
                LiveEngine engine =
                        new LiveEngine(backend, new LiveConfig(4, 64, true, true, 1, 128), LETTERS, List.of())) {
            Completion first = submit(engine, new GenerationRequest(null, prompt, SamplingParams.greedy(12), 0))
                    .done
                    .get(30, TimeUnit.SECONDS);
            answer = first.tokenIds();
            assertThat(answer).hasSize(12);
            next = new int[prompt.length + answer.length + 2];
            System.arraycopy(prompt, 0, next, 0, prompt.length);
            System.arraycopy(answer, 0, next, prompt.length, answer.length);
            next[next.length - 2] = 7;
            next[next.length - 1] = 8;
            second = submit(engine, new GenerationRequest(null, next, SamplingParams.greedy(5), 0))
                    .done
                    .get(30, TimeUnit.SECONDS);
            // 20 tokens in blocks of 4: the first four blocks (the prompt and ten tokens of the answer, all computed
            // in the first turn) are reused; the last is recomputed to sample (the prompt alone would give one block)
            assertThat(second.cachedPromptTokens()).isEqualTo(16);
            assertThat(second.tokenIds()).containsExactly(solo(files, null, next, 5));
        }
    }

    @Test
    void requestWithoutFirstTokenInTimeTimesOutAndFreesItsPlace() throws Exception {
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 2, 512, 4, 1)));
                LiveEngine engine =
                        new LiveEngine(backend, new LiveConfig(1, 64, true, true, 1, 128), LETTERS, List.of())) {
            // one sequence at a time: the second request waits behind a long one and misses a 1 ms deadline
            Outcome longOne = submit(
                    engine,
                    new GenerationRequest(
                            null,
                            new int[] {3, 4, 5},
                            new SamplingParams(0, 0, 1, 0, 60, List.of(), List.of(), true),
                            0));
            Outcome late = submit(engine, new GenerationRequest(null, new int[] {6, 7}, SamplingParams.greedy(4), 1));
            Completion c = late.done.get(30, TimeUnit.SECONDS);
            assertThat(c.reason()).isEqualTo(Completion.FinishReason.TIMEOUT);
            assertThat(late.streamed).isEmpty();
            assertThat(longOne.done.get(30, TimeUnit.SECONDS).completionTokens())
                    .isEqualTo(60);
            assertThat(engine.stats().timedOut()).isEqualTo(1);
        }
    }

    @Test
    void aFailingStepEndsEveryRequestWithAnErrorAndRefusesLaterOnes() throws Exception {
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend cpu = Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 1, 256, 4, 1)));
                LiveEngine engine =
                        new LiveEngine(new FailingBackend(cpu), LiveConfig.defaults(64), LETTERS, List.of())) {
            Outcome o = submit(engine, new GenerationRequest(null, new int[] {3, 4}, SamplingParams.greedy(4), 0));
            Completion c = o.done.get(30, TimeUnit.SECONDS);
            assertThat(c.reason()).isEqualTo(Completion.FinishReason.ERROR);
            assertThat(c.error())
                    .contains("the live loop has stopped after a failure")
                    .contains("device lost");
            assertThatThrownBy(() -> engine.submit(
                            new GenerationRequest(null, new int[] {3}, SamplingParams.greedy(2), 0), null))
                    .hasMessageContaining("the live loop has stopped after a failure")
                    .hasMessageContaining("device lost");
        }
    }

    @Test
    void anAdapterThatFailsToLoadEndsOnlyItsRequestsAndTheLoopServesTheOthers() throws Exception {
        Path broken = tmp.resolve("broken");
        RandomModel.writeAdapter(model, 4, 4, List.of(Projection.values()), 5, DType.F32, broken);
        Path weights = broken.resolve("adapter_model.safetensors");
        Files.write(weights, Arrays.copyOf(Files.readAllBytes(weights), 100));
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 2, 512, 4, 2)));
                LiveEngine engine = new LiveEngine(backend, LiveConfig.defaults(64), LETTERS, List.of())) {
            engine.registerAdapter("good", adapterDirs.get(0));
            engine.registerAdapter("broken", broken);
            // a profile-only adapter has no weights for the CPU backend to copy: its load fails too
            engine.registerAdapter("weightless", 4, (name, base) -> LoraAdapter.weightless(name, 4));
            String[] adapterOf = {null, "good", "broken", "good", "weightless", "broken", null};
            List<int[]> prompts = new ArrayList<>();
            List<Outcome> outcomes = new ArrayList<>();
            for (int r = 0; r < adapterOf.length; r++) {
                int[] prompt = {3 + r, 40 + r, 90 + r, 7};
                prompts.add(prompt);
                outcomes.add(submit(engine, new GenerationRequest(adapterOf[r], prompt, SamplingParams.greedy(6), 0)));
            }
            for (int r = 0; r < adapterOf.length; r++) {
                Completion c = outcomes.get(r).done.get(60, TimeUnit.SECONDS);
                if (adapterOf[r] == null || adapterOf[r].equals("good")) {
                    assertThat(c.reason()).as("request %d", r).isEqualTo(Completion.FinishReason.LENGTH);
                    assertThat(c.tokenIds())
                            .containsExactly(solo(files, adapterOf[r] == null ? null : 0, prompts.get(r), 6));
                } else {
                    assertThat(c.reason()).as("request %d", r).isEqualTo(Completion.FinishReason.ERROR);
                    assertThat(c.error()).contains("adapter '" + adapterOf[r] + "' failed to load");
                    assertThat(outcomes.get(r).streamed).isEmpty();
                }
            }
            assertThat(outcomes.get(2).done.get().error()).contains("truncated or not a safetensors file");
            assertThat(outcomes.get(4).done.get().error()).contains("has no weights");
            // the loop goes on: the base model and the good adapter still serve
            Outcome later = submit(engine, new GenerationRequest("good", prompts.get(1), SamplingParams.greedy(6), 0));
            assertThat(later.done.get(60, TimeUnit.SECONDS).tokenIds())
                    .containsExactly(outcomes.get(1).done.get().tokenIds());
            assertThat(engine.stats().failed()).isEqualTo(3);
            assertThat(engine.stats().finished()).isEqualTo(5);
        }
    }

    /** A backend whose forward pass fails: what the loop cannot recover from. */
    private static final class FailingBackend extends ForwardingBackend {
        FailingBackend(CpuBackend cpu) {
            super(cpu);
        }

        @Override
        public void forward(ForwardBatch batch, float[] logits) {
            throw new IllegalStateException("device lost");
        }

        @Override
        public String name() {
            return "failing";
        }

        @Override
        public void close() {}
    }

    @Test
    void rejectsUnknownAdapterAndRequestsLongerThanTheModelLength() throws Exception {
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 1, 256, 4, 1)));
                LiveEngine engine = new LiveEngine(backend, LiveConfig.defaults(32), LETTERS, List.of())) {
            assertThatThrownBy(() -> engine.submit(
                            new GenerationRequest("nope", new int[] {3}, SamplingParams.greedy(2), 0), null))
                    .hasMessageContaining("adapter 'nope' is not registered");
            assertThatThrownBy(() ->
                            engine.submit(new GenerationRequest(null, new int[30], SamplingParams.greedy(8), 0), null))
                    .hasMessageContaining("exceeds max_model_len 32");
        }
    }

    @Test
    void refusesWhatTheTwinsAdmissionRuleRefuses() throws Exception {
        // 8 blocks of 4 tokens: 29 prompt tokens take 8, leaving none for the first decode, so the twin refuses
        // the request, and the engine, with the same rule, does too
        assertThat(Scheduler.admissible(29, 2, 32, 4, 8)).isFalse();
        assertThat(Scheduler.admissible(28, 4, 32, 4, 8)).isTrue();
        try (ModelFiles files = ModelFiles.open(model);
                CpuBackend backend =
                        Backends.create(new BackendSpec.Cpu(files, new CpuBackend.Options(1, 1, 32, 4, 1)));
                LiveEngine engine = new LiveEngine(backend, LiveConfig.defaults(32), LETTERS, List.of())) {
            assertThatThrownBy(() ->
                            engine.submit(new GenerationRequest(null, new int[29], SamplingParams.greedy(2), 0), null))
                    .hasMessageContaining("KV tokens but kv_cache_len is 32");
        }
    }
}
