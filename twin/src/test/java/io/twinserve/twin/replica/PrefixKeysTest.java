package io.twinserve.twin.replica;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.sched.SchedulerConfig;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Prefix reuse on one replica: answers are cached for the next turn, and adapters never share blocks. */
class PrefixKeysTest {
    private static final int BLOCK = 16;
    private static final AdapterCache.LoadTimes INSTANT = AdapterCache.LoadTimes.fixed(0, 0);

    /** Takes tokens in bulk, so that a lazy scheduler counts steady decoders without visiting them. */
    private static final StepListener BULK = new StepListener() {
        @Override
        public void onFirstToken(Sequence s, long nowNs) {}

        @Override
        public void onToken(Sequence s, long gapNs) {}

        @Override
        public boolean acceptsBulkTokens() {
            return true;
        }

        @Override
        public void onTokens(long gapNs, long count) {}

        @Override
        public void onFinished(Sequence s, long nowNs) {}
    };

    private static ReplicaCore core(boolean lazy) {
        SchedulerConfig c = new SchedulerConfig(8, 512, true, BLOCK, 4096, true, 2, 4, 64, 4096, false);
        ReplicaCore core = new ReplicaCore(c, INSTANT, lazy);
        core.knowAdapters(2, true);
        return core;
    }

    /** Hashes of a session's context, 16-token blocks, one per position (as the generator chains them). */
    private static long[] context(int blocks) {
        long[] h = new long[blocks];
        for (int i = 0; i < blocks; i++) {
            h[i] = 0x5eed_0000L + i;
        }
        return h;
    }

    /** Serves the request alone until it finishes. */
    private static void serve(ReplicaCore core, Request r, int adapter) {
        core.scheduler()
                .enqueue(new Sequence(
                        r.id(),
                        r.id(),
                        0,
                        adapter,
                        adapter < 0 ? 0 : 8,
                        r.promptTokens(),
                        r.outputTokens(),
                        PrefixKeys.of(r, BLOCK, adapter)));
        long now = 0;
        while (!core.scheduler().isIdle()) {
            assertThat(core.scheduler().plan(now)).isTrue();
            now += 1_000;
            core.scheduler().complete(now, BULK);
        }
    }

    @ParameterizedTest(name = "lazy decodes {0}")
    @ValueSource(booleans = {false, true})
    void aSessionsNextTurnReusesTheBlocksOfThePreviousAnswer(boolean lazy) {
        ReplicaCore core = core(lazy);
        // turn 0: 64 prompt tokens, a 40-token answer; its hashes run on over the answer (7 blocks, the last partial)
        long[] context = context(16);
        Request turn0 = new Request(1, 0, "s", 0, null, 64, 40, BLOCK, Arrays.copyOf(context, 7));
        serve(core, turn0, -1);
        // turn 1's prompt holds turn 0's prompt, its answer and a 20-token message
        Request turn1 = new Request(2, 0, "s", 1, null, 124, 10, BLOCK, Arrays.copyOf(context, 9));
        long[] keys = PrefixKeys.of(turn1, BLOCK, -1);

        // 103 tokens of turn 0 were computed (its last token never is): 6 full blocks, 2 of them answer
        assertThat(core.cachedPrefixTokens(keys, turn1.promptTokens())).isEqualTo(96);
    }

    @ParameterizedTest(name = "lazy decodes {0}")
    @ValueSource(booleans = {false, true})
    void withoutHashesOfTheAnswerOnlyThePromptIsReused(boolean lazy) {
        ReplicaCore core = core(lazy);
        long[] context = context(16);
        serve(core, new Request(1, 0, "s", 0, null, 64, 40, BLOCK, Arrays.copyOf(context, 4)), -1);
        Request turn1 = new Request(2, 0, "s", 1, null, 124, 10, BLOCK, Arrays.copyOf(context, 9));

        assertThat(core.cachedPrefixTokens(PrefixKeys.of(turn1, BLOCK, -1), turn1.promptTokens()))
                .isEqualTo(64);
    }

    @ParameterizedTest(name = "lazy decodes {0}")
    @ValueSource(booleans = {false, true})
    void theSamePromptUnderTwoAdaptersSharesNoBlocks(boolean lazy) {
        ReplicaCore core = core(lazy);
        Request prompt = new Request(1, 0, null, Request.NO_TURN, "a", 128, 4, BLOCK, context(8));
        serve(core, prompt, 0);

        assertThat(core.cachedPrefixTokens(PrefixKeys.of(prompt, BLOCK, 0), 128))
                .as("same adapter")
                .isEqualTo(112);
        assertThat(core.cachedPrefixTokens(PrefixKeys.of(prompt, BLOCK, 1), 128))
                .as("another adapter")
                .isZero();
        assertThat(core.cachedPrefixTokens(PrefixKeys.of(prompt, BLOCK, -1), 128))
                .as("the base model")
                .isZero();
    }

    @Test
    void theEnginesTokenKeysAreSeededByTheAdapterToo() {
        int[] tokens = new int[64];
        Arrays.setAll(tokens, i -> i * 7 + 3);
        long[] underA = PrefixKeys.ofTokens(tokens, BLOCK, 0);
        long[] underB = PrefixKeys.ofTokens(tokens, BLOCK, 1);
        assertThat(underA).hasSize(4).isEqualTo(PrefixKeys.ofTokens(tokens, BLOCK, 0));
        for (int i = 0; i < underA.length; i++) {
            assertThat(underA[i]).isNotEqualTo(underB[i]);
        }
    }
}
