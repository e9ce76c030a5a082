package io.twinserve.api.server.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.router.RouterSpec;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The cache-aware router's estimate of a replica's prefix cache learns the blocks an answer filled (the engine
 * caches them), so that a chat's next turn, whose prompt repeats the answer, is estimated to find them there.
 */
class AnswerPrefixEstimateTest {
    @Test
    void aFinishedAnswersBlocksCountInTheEstimateOfItsReplica() throws Exception {
        ReplicaSpec r = new ReplicaSpec(1, 4096, 0.9, 2, 2, 8, 8, 256, 16, true, true, null, null);
        DeploymentRuntime rt =
                SimulatedRuntimes.of("answers", r, 1, 1000.0, new RouterSpec.CacheAware(), FaultSpec.NONE);
        try {
            int[] prompt = new int[20];
            Arrays.setAll(prompt, i -> 3 + i);
            CompletableFuture<Completion> done = new CompletableFuture<>();
            rt.submit(null, prompt, SamplingParams.greedy(30), null, new TokenSink() {
                @Override
                public void onToken(int tokenId, String text) {}

                @Override
                public void onFinished(Completion completion) {
                    done.complete(completion);
                }
            });
            int[] answer = done.get(30, TimeUnit.SECONDS).tokenIds();
            assertThat(answer).hasSize(30);
            // the next turn: the prompt, the answer and two more tokens, 52 in all
            int[] next = Arrays.copyOf(prompt, 52);
            System.arraycopy(answer, 0, next, 20, 30);
            next[50] = 7;
            next[51] = 8;
            long[] keys = PrefixKeys.ofTokens(next, 16, -1);
            // learned before the caller hears of the end; three whole blocks: the prompt's first and two that hold the
            // prompt's tail and the answer (the prompt
            // alone gave one)
            assertThat(rt.replica(0).cachedPrefixTokens(keys, next.length)).isEqualTo(48);
        } finally {
            rt.close();
        }
    }
}
