package io.twinserve.api.server.inference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.router.RouterSpec;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A deployment restarted with a new configuration (autoconfigure) loses no request: one that found the old runtime
 * just before the swap and reaches it after its close is served by the runtime that replaced it. Found by
 * AutoconfigureLiveTest, which saw one 503 ("the live loop is shutting down") in a CI run: the request had resolved
 * the old runtime, the manager swapped and closed it, then the request submitted to it.
 */
class RuntimeReplacementTest {
    private static DeploymentRuntime simulated(String name) throws java.io.IOException {
        ReplicaSpec r = new ReplicaSpec(1, 4096, 0.9, 2, 2, 8, 8, 256, 16, true, false, null, null);
        return SimulatedRuntimes.of(name, r, 1, 1000.0, new RouterSpec.RoundRobin(), FaultSpec.NONE);
    }

    private static CompletableFuture<Completion> send(DeploymentRuntime rt) {
        CompletableFuture<Completion> done = new CompletableFuture<>();
        rt.submit(null, new int[] {1, 2, 3, 4, 5}, SamplingParams.greedy(3), null, new TokenSink() {
            @Override
            public void onToken(int tokenId, String text) {}

            @Override
            public void onFinished(Completion completion) {
                done.complete(completion);
            }
        });
        return done;
    }

    @Test
    void aRequestThatReachesAReplacedRuntimeIsServedByItsSuccessor() throws Exception {
        DeploymentRuntime old = simulated("swap");
        DeploymentRuntime next = simulated("swap");
        try {
            Completion first = send(old).get(30, TimeUnit.SECONDS);
            assertThat(first.completionTokens()).as("%s", first).isEqualTo(3);
            old.replaceWith(next);
            // after the close: served by the successor, counted there
            CompletableFuture<Completion> late = send(old);
            assertThat(late.get(30, TimeUnit.SECONDS).completionTokens()).isEqualTo(3);
            // nothing left counted on the old one (its refusal gave the count back before the successor took it)
            assertThat(old.totalInFlight()).isZero();
            // and the successor's count returns to zero once its end is recorded (just after the sink hears it)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (next.totalInFlight() != 0 && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(next.totalInFlight()).isZero();
        } finally {
            next.close();
        }
    }

    /**
     * A restart on a GPU the old replicas fill: the old runtime drains and closes before its successor is built,
     * and a request that reaches it meanwhile waits and is served by the successor once it is there.
     */
    @Test
    void aRequestThatReachesARuntimeDrainedForASuccessorStillBeingBuiltWaitsForIt() throws Exception {
        DeploymentRuntime old = simulated("drain");
        CompletableFuture<DeploymentRuntime> handover = new CompletableFuture<>();
        old.drainFor(handover);
        assertThat(old.totalInFlight()).isZero();
        CompletableFuture<Completion> waiting = CompletableFuture.supplyAsync(() -> {
            try {
                return send(old).get(60, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(200);
        assertThat(waiting).as("waits while the successor is built").isNotDone();
        DeploymentRuntime next = simulated("drain");
        try {
            handover.complete(next);
            assertThat(waiting.get(60, TimeUnit.SECONDS).completionTokens()).isEqualTo(3);
            // and later ones go straight to it
            assertThat(send(old).get(30, TimeUnit.SECONDS).completionTokens()).isEqualTo(3);
        } finally {
            next.close();
        }
    }

    @Test
    void aRequestThatReachesARuntimeDrainedForASuccessorThatFailedIsRefusedSayingWhy() throws Exception {
        DeploymentRuntime old = simulated("failed-restart");
        CompletableFuture<DeploymentRuntime> handover = new CompletableFuture<>();
        old.drainFor(handover);
        handover.completeExceptionally(new IllegalStateException("out of memory on the GPU"));
        assertThatThrownBy(() -> send(old))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("deployment 'failed-restart' could not start its new configuration (out of memory on the"
                        + " GPU); it is started again with its configuration of before");
    }

    @Test
    void aClosedRuntimeWithoutASuccessorStillRefuses() throws Exception {
        DeploymentRuntime rt = simulated("stopped");
        rt.close();
        assertThatThrownBy(() -> send(rt))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("shutting down");
    }
}
