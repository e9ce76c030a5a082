package io.twinserve.experiments.validate;

import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.traces.Request;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Replays a trace through the live loop on the wall clock: each request arrives at its trace time with a
 * random prompt of its prompt length and generates exactly its output length (end-of-sequence ignored),
 * so the live run and a twin run of the same trace do the same work. A session's later turn starts with the
 * previous turn's prompt and the answer the engine gave it (then random tokens up to its length), as the twin's
 * session hashes describe it, so a prefix cache reuses the same blocks on both sides; a turn due before the
 * previous one answered goes when it answers (counted in {@link Result#lateTurns}).
 */
public final class LiveReplay {
    /**
     * What the replay measured.
     *
     * @param served each request with its completion, in trace order
     * @param lateTurns session turns sent after their trace time because the previous turn had not answered
     * @param maxLateMs the latest of those, in ms
     */
    public record Result(
            long lateTurns,
            double maxLateMs,
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
        AtomicLongArray submitted = new AtomicLongArray(trace.size());
        // per session: its latest turn, and the context (prompt and answer) that turn leaves for the next one
        Map<String, Request> lastTurn = new HashMap<>();
        Map<String, CompletableFuture<int[]>> context = new HashMap<>();
        AtomicLong lateTurns = new AtomicLong();
        AtomicLong maxLateNs = new AtomicLong();
        long start = System.nanoTime();
        for (int k = 0; k < trace.size(); k++) {
            Request r = trace.get(k);
            // the fresh part of the prompt, drawn in trace order whatever the timing (the same seed, the same tokens)
            Request previous = r.hasSession() ? lastTurn.get(r.sessionId()) : null;
            int inherited = previous == null ? 0 : previous.promptTokens() + previous.outputTokens();
            boolean continues = previous != null && inherited <= r.promptTokens();
            int[] fresh = new int[continues ? r.promptTokens() - inherited : r.promptTokens()];
            for (int i = 0; i < fresh.length; i++) {
                fresh[i] = 3 + random.nextInt(vocabSize - 3);
            }
            long wait = start + r.arrivalNs() - System.nanoTime();
            if (wait > 0) {
                TimeUnit.NANOSECONDS.sleep(wait);
            }
            CompletableFuture<Completion> f = new CompletableFuture<>();
            done.add(f);
            CompletableFuture<int[]> before = continues ? context.get(r.sessionId()) : null;
            CompletableFuture<int[]> after = new CompletableFuture<>();
            if (r.hasSession()) {
                lastTurn.put(r.sessionId(), r);
                context.put(r.sessionId(), after);
            }
            String adapter = r.adapterId() == null || r.adapterId().isEmpty() ? null : adapterOf.apply(r.adapterId());
            int index = k;
            long dueNs = r.arrivalNs();
            Consumer<int[]> send = ctx -> {
                int[] prompt = concat(ctx, fresh);
                long at = System.nanoTime() - start;
                submitted.set(index, at);
                if (ctx.length > 0 && at - dueNs > 1_000_000) {
                    // the previous answer was not there when this turn was due: it went as soon as it was
                    lateTurns.incrementAndGet();
                    maxLateNs.accumulateAndGet(at - dueNs, Math::max);
                }
                engine.submit(
                        new GenerationRequest(
                                adapter,
                                prompt,
                                new SamplingParams(
                                        0, 0, 1, 0, Math.max(1, r.outputTokens()), List.of(), List.of(), true),
                                0),
                        new TokenSink() {
                            @Override
                            public void onToken(int tokenId, String text) {}

                            @Override
                            public void onFinished(Completion completion) {
                                after.complete(concat(prompt, completion.tokenIds()));
                                f.complete(completion);
                            }
                        });
            };
            if (before == null) {
                send.accept(new int[0]);
            } else {
                // a turn goes once the previous one has answered (at once when it has)
                before.thenAccept(send);
            }
        }
        long tokens = 0;
        double[] ttft = new double[done.size()];
        double latency = 0;
        List<Served> served = new ArrayList<>();
        for (int i = 0; i < done.size(); i++) {
            Completion c = done.get(i).get();
            served.add(new Served(trace.get(i), submitted.get(i), c));
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
                lateTurns.get(),
                maxLateNs.get() / 1e6,
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

    private static int[] concat(int[] a, int[] b) {
        int[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
