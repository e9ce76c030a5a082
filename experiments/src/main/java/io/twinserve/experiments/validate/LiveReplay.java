package io.twinserve.experiments.validate;

import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.traces.Request;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * Replays a trace through the live loop on the wall clock: each request arrives at its trace time with a
 * random prompt of its prompt length and generates exactly its output length (end-of-sequence ignored),
 * so the live run and a twin run of the same trace do the same work.
 */
public final class LiveReplay {
    /**
     * What the replay measured.
     *
     * @param served each request with its completion, in trace order
     */
    public record Result(
            int requests,
            long outputTokens,
            double seconds,
            double outputTokensPerSecond,
            double meanTtftMs,
            double p50TtftMs,
            double meanLatencyMs,
            LiveEngine.Stats stats,
            List<Served> served) {
        public Result {
            served = List.copyOf(served);
        }
    }

    /**
     * One request of the replay.
     *
     * @param submittedNs when it was submitted, from the start of the replay (its trace arrival plus how late
     *     the replay's sleep woke up)
     */
    public record Served(Request request, long submittedNs, Completion completion) {}

    private LiveReplay() {}

    /**
     * @param adapterOf maps a trace adapter id to a registered adapter name (null for the base model)
     */
    public static Result run(
            LiveEngine engine, List<Request> trace, Function<String, String> adapterOf, int vocabSize, long seed)
            throws Exception {
        SplittableRandom random = new SplittableRandom(seed);
        List<CompletableFuture<Completion>> done = new ArrayList<>();
        long[] submitted = new long[trace.size()];
        long start = System.nanoTime();
        for (int k = 0; k < trace.size(); k++) {
            Request r = trace.get(k);
            int[] prompt = new int[r.promptTokens()];
            for (int i = 0; i < prompt.length; i++) {
                prompt[i] = 3 + random.nextInt(vocabSize - 3);
            }
            long wait = start + r.arrivalNs() - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            CompletableFuture<Completion> f = new CompletableFuture<>();
            done.add(f);
            submitted[k] = System.nanoTime() - start;
            String adapter = r.adapterId() == null || r.adapterId().isEmpty() ? null : adapterOf.apply(r.adapterId());
            engine.submit(
                    new GenerationRequest(
                            adapter,
                            prompt,
                            new SamplingParams(0, 0, 1, 0, Math.max(1, r.outputTokens()), List.of(), List.of(), true),
                            0),
                    new TokenSink() {
                        @Override
                        public void onToken(int tokenId, String text) {}

                        @Override
                        public void onFinished(Completion completion) {
                            f.complete(completion);
                        }
                    });
        }
        long tokens = 0;
        double[] ttft = new double[done.size()];
        double latency = 0;
        List<Served> served = new ArrayList<>();
        for (int i = 0; i < done.size(); i++) {
            Completion c = done.get(i).get();
            served.add(new Served(trace.get(i), submitted[i], c));
            if (c.reason() == Completion.FinishReason.ERROR) {
                throw new IllegalStateException("request " + i + " failed in the live loop");
            }
            tokens += c.completionTokens();
            ttft[i] = c.ttftNs() / 1e6;
            latency += c.latencyNs() / 1e6;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        double mean = Arrays.stream(ttft).average().orElse(0);
        Arrays.sort(ttft);
        double p50 = ttft.length == 0 ? 0 : ttft[ttft.length / 2];
        return new Result(
                done.size(),
                tokens,
                seconds,
                tokens / seconds,
                mean,
                p50,
                latency / Math.max(1, done.size()),
                engine.stats(),
                served);
    }
}
