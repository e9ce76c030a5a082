package io.twinserve.api.server.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.router.RouterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A replica whose loop fails (a device fault; here {@code compute_config.fault.fail_after_steps}) stops being routed
 * to, its requests that had streamed nothing run again on the other replicas, and only those cut mid-answer end
 * with the error; with every replica failed, a request is refused naming each failure.
 */
class ReplicaFailoverTest {
    private static DeploymentRuntime simulated(int replicas, FaultSpec fault) throws java.io.IOException {
        return simulated(replicas, fault, new RouterSpec.RoundRobin());
    }

    private static DeploymentRuntime simulated(int replicas, FaultSpec fault, RouterSpec router)
            throws java.io.IOException {
        return simulated(replicas, fault, router, false);
    }

    private static DeploymentRuntime simulated(int replicas, FaultSpec fault, RouterSpec router, boolean prefixCaching)
            throws java.io.IOException {
        // one sequence at a time per replica, so that requests queue behind the one running
        ReplicaSpec r = new ReplicaSpec(1, 4096, 0.9, 2, 2, 8, 1, 256, 16, true, prefixCaching, null, null);
        return SimulatedRuntimes.of("failover", r, replicas, 1.0, router, fault);
    }

    /** A request's outcome and the tokens its sink heard. */
    private record Sent(CompletableFuture<Completion> done, AtomicInteger tokens) {}

    private static Sent send(DeploymentRuntime rt, int maxTokens, int choices) {
        return send(rt, maxTokens, choices, false);
    }

    /** @param whole the caller sees the answer only at its end (a sink that can forget what it heard) */
    private static Sent send(DeploymentRuntime rt, int maxTokens, int choices, boolean whole) {
        CompletableFuture<Completion> done = new CompletableFuture<>();
        AtomicInteger tokens = new AtomicInteger();
        AtomicInteger ended = new AtomicInteger();
        List<SamplingParams> sampling = new ArrayList<>();
        List<TokenSink> sinks = new ArrayList<>();
        for (int i = 0; i < choices; i++) {
            sampling.add(SamplingParams.greedy(maxTokens));
            sinks.add(new TokenSink() {
                @Override
                public void onToken(int tokenId, String text) {
                    tokens.incrementAndGet();
                }

                @Override
                public boolean rewind() {
                    if (whole) {
                        tokens.set(0);
                    }
                    return whole;
                }

                @Override
                public void onFinished(Completion completion) {
                    // the request's outcome: its first choice that did not run to its end, else its last
                    if (!completion.reason().equals(Completion.FinishReason.LENGTH)
                            || ended.incrementAndGet() == choices) {
                        done.complete(completion);
                    }
                }
            });
        }
        rt.submit(null, new int[] {1, 2, 3, 4, 5, 6, 7, 8}, sampling, null, sinks);
        return new Sent(done, tokens);
    }

    /**
     * Nothing is left counted on either replica once the ends are recorded (just after each sink hears its end, so
     * the counts are read once they have settled).
     */
    private static void nothingLeftInFlight(DeploymentRuntime rt) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (rt.totalInFlight() != 0 && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(rt.inFlight(0)).isZero();
        assertThat(rt.inFlight(1)).isZero();
    }

    @Test
    void requestsOfAFailedReplicaThatStreamedNothingAreServedByTheOthersAndItIsRoutedNothingMore() throws Exception {
        // replica 0 fails at its 21st step: its first request (60 tokens) is cut mid-answer, those queued behind it
        // have streamed nothing
        DeploymentRuntime rt = simulated(2, new FaultSpec(0, 0, 20));
        try {
            List<Sent> sent = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                // round robin: 0, 2, 4, 6 to replica 0 (the first of them long), the odd ones to replica 1
                sent.add(send(rt, i == 0 ? 60 : 10, i == 4 ? 2 : 1));
            }
            Completion cut = sent.get(0).done().get(60, TimeUnit.SECONDS);
            assertThat(cut.reason()).isEqualTo(Completion.FinishReason.ERROR);
            assertThat(cut.error()).contains("replica 0 failed on purpose after 20 steps");
            assertThat(sent.get(0).tokens().get()).isBetween(1, 59);
            for (int i = 1; i < sent.size(); i++) {
                Completion c = sent.get(i).done().get(60, TimeUnit.SECONDS);
                assertThat(c.reason()).as("request %d: %s", i, c).isEqualTo(Completion.FinishReason.LENGTH);
                int choices = i == 4 ? 2 : 1;
                assertThat(sent.get(i).tokens().get()).as("request %d", i).isEqualTo(10 * choices);
            }
            assertThat(rt.failed(0)).isTrue();
            assertThat(rt.failure(0)).contains("failed on purpose");
            assertThat(rt.failed(1)).isFalse();
            // later requests all go to replica 1 (round robin would have sent every other one to replica 0)
            long finishedBefore = rt.stats(1).finished();
            List<Sent> later = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                later.add(send(rt, 5, 1));
            }
            for (Sent s : later) {
                assertThat(s.done().get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            }
            assertThat(rt.stats(1).finished() - finishedBefore).isEqualTo(4);
            nothingLeftInFlight(rt);
        } finally {
            rt.close();
        }
    }

    /**
     * With least-loaded routing an idle failed replica would look the best: it must not be chosen. Admission control
     * reads only the replica still serving.
     */
    @Test
    void leastLoadedRoutingNeverPicksTheFailedReplicaThoughItLooksIdle() throws Exception {
        DeploymentRuntime rt = simulated(2, new FaultSpec(0, 0, 1), new RouterSpec.LeastLoaded());
        try {
            // whole answers, one at a time, until replica 0 has had one (it fails at its second step; the answer
            // runs again on replica 1)
            for (int i = 0; i < 4 && !rt.failed(0); i++) {
                Completion c = send(rt, 5, 1, true).done().get(60, TimeUnit.SECONDS);
                assertThat(c.reason()).as("%s", c).isEqualTo(Completion.FinishReason.LENGTH);
            }
            assertThat(rt.failed(0)).isTrue();
            // a long answer keeps replica 1 busy: the failed one, idle, has fewer in flight
            Sent longOne = send(rt, 200, 1, true);
            assertThat(rt.inFlight(1)).isPositive();
            assertThat(rt.inFlight(0)).isZero();
            assertThat(rt.leastInFlight()).isEqualTo(rt.inFlight(1)).isPositive();
            Sent meanwhile = send(rt, 5, 1, true);
            assertThat(meanwhile.done().get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(meanwhile.tokens().get()).isEqualTo(5);
            assertThat(longOne.done().get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
        } finally {
            rt.close();
        }
    }

    /**
     * With prefix caching a request of two choices runs its first alone until its first token, then the second where
     * the first is: here the first moves off the failed replica before its first token, and the second, counted on
     * the failed replica, follows it.
     */
    @Test
    void theSecondChoiceOfAStaggeredRequestFollowsItsFirstOffAFailedReplica() throws Exception {
        DeploymentRuntime rt = simulated(2, new FaultSpec(0, 0, 20), new RouterSpec.RoundRobin(), true);
        try {
            Sent cut = send(rt, 60, 1);
            Sent other = send(rt, 10, 1);
            // queued on replica 0 behind the long one: both its choices are counted there
            Sent twoChoices = send(rt, 10, 2);
            assertThat(rt.inFlight(0)).isEqualTo(3);
            assertThat(cut.done().get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.ERROR);
            Completion c = twoChoices.done().get(60, TimeUnit.SECONDS);
            assertThat(c.reason()).as("%s", c).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(twoChoices.tokens().get()).isEqualTo(20);
            assertThat(other.done().get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(rt.failed(0)).isTrue();
            nothingLeftInFlight(rt);
        } finally {
            rt.close();
        }
    }

    @Test
    void withEveryReplicaFailedARequestIsRefusedNamingEachFailure() throws Exception {
        DeploymentRuntime rt = simulated(1, new FaultSpec(0, 0, 2));
        try {
            Completion c = send(rt, 10, 1).done().get(60, TimeUnit.SECONDS);
            // no other replica to move to: it ends with the failure
            assertThat(c.reason()).isEqualTo(Completion.FinishReason.ERROR);
            assertThat(c.error()).contains("replica 0 failed on purpose after 2 steps");
            assertThat(rt.leastInFlight()).isZero();
            assertThatThrownBy(() -> send(rt, 5, 1))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("every replica of deployment 'failover' has failed")
                    .hasMessageContaining("replica 0: the live loop has stopped after a failure: replica 0 failed on"
                            + " purpose after 2 steps");
        } finally {
            rt.close();
        }
    }

    @Test
    void aFaultNamingAReplicaTheDeploymentDoesNotHaveIsRefused() {
        assertThatThrownBy(() -> simulated(2, new FaultSpec(0, 2, 5)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("fail_replica is 2 but the deployment has 2 replica(s)");
    }
}
