package io.twinserve.twin.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A step short of blocks preempts, in bulk accounting, exactly the tail the plain loop preempts: the same steps, tokens,
 * preemptions and finishes, step by step, as a scheduler that visits every sequence.
 */
class SteadyPreemptionTest {
    private static final long[] NO_HASHES = new long[0];

    /** A scheduler on a counting KV cache (no prefix caching) and a listener that takes tokens in bulk. */
    private static final class Rig implements StepListener {
        final Scheduler scheduler;
        final List<String> events = new ArrayList<>();
        long tokens;

        Rig(boolean lazy, int kvTokens, int budget) {
            SchedulerConfig config =
                    new SchedulerConfig(64, budget, true, 16, kvTokens, false, 4, 8, 16, kvTokens, false);
            AdapterCache adapters = new AdapterCache(4, 8, 8, AdapterCache.LoadTimes.fixed(5, 50));
            scheduler = new Scheduler(config, KvBlockManager.counting(kvTokens, 16), adapters, 6, lazy);
        }

        @Override
        public boolean acceptsBulkTokens() {
            return true;
        }

        @Override
        public void onTokens(long gapNs, long count) {
            tokens += count;
        }

        @Override
        public void onFirstToken(Sequence s, long nowNs) {
            events.add("first " + s.requestId + " @" + nowNs);
        }

        @Override
        public void onToken(Sequence s, long gapNs) {
            tokens++;
        }

        @Override
        public void onFinished(Sequence s, long nowNs) {
            events.add("finish " + s.requestId + " @" + nowNs + " after " + s.preemptions + " preemptions");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 2, 3, 4, 5, 6})
    void preemptsTheTailThePlainLoopWouldAndKeepsTheRestInBulk(int seed) {
        // a cache of 1,600-3,200 tokens for requests of up to 300 prompt and 200 output tokens: full every few steps;
        // a budget of 48 tokens a step makes prefills chunked and steps short of budget too
        int kvTokens = 1_600 * (1 + seed % 2);
        int budget = seed % 3 == 0 ? 48 : 512;
        Rig lazy = new Rig(true, kvTokens, budget);
        Rig plain = new Rig(false, kvTokens, budget);
        SplittableRandom rnd = new SplittableRandom(seed);
        long now = 0;
        int id = 0;
        for (int step = 0; step < 4_000; step++) {
            // arrivals now and then, in bursts
            if (rnd.nextInt(6) == 0) {
                for (int k = rnd.nextInt(4); k >= 0; k--) {
                    int adapter = rnd.nextInt(7) - 1;
                    int prompt = 10 + rnd.nextInt(290);
                    int output = 5 + rnd.nextInt(195);
                    for (Rig r : List.of(lazy, plain)) {
                        r.scheduler.enqueue(
                                new Sequence(id, id, now, adapter, adapter < 0 ? 0 : 8, prompt, output, NO_HASHES));
                    }
                    id++;
                }
            }
            boolean a = lazy.scheduler.plan(now);
            boolean b = plain.scheduler.plan(now);
            assertThat(a).as("step %d runs", step).isEqualTo(b);
            assertThat(lazy.scheduler.shape().sequences)
                    .as("step %d's sequences", step)
                    .isEqualTo(plain.scheduler.shape().sequences);
            assertThat(lazy.scheduler.shape().newTokens)
                    .as("step %d's tokens", step)
                    .isEqualTo(plain.scheduler.shape().newTokens);
            assertThat(lazy.scheduler.preemptions())
                    .as("preemptions by step %d", step)
                    .isEqualTo(plain.scheduler.preemptions());
            now += 10 + lazy.scheduler.stallNs();
            lazy.scheduler.complete(now, lazy);
            plain.scheduler.complete(now, plain);
            assertThat(lazy.events)
                    .as("first tokens and finishes by step %d", step)
                    .isEqualTo(plain.events);
        }
        assertThat(lazy.tokens).isEqualTo(plain.tokens);
        assertThat(plain.scheduler.preemptions())
                .as("the cache is small enough to preempt")
                .isGreaterThan(20);
        assertThat(lazy.scheduler.steadyPreemptionSteps())
                .as("steps that preempted without leaving bulk accounting")
                .isPositive();
        assertThat(plain.scheduler.steadyPreemptionSteps()).isZero();
    }
}
