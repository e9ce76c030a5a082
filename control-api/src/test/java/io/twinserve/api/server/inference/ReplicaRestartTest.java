package io.twinserve.api.server.inference;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.router.RouterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;

/**
 * A replica whose loop fails is restarted in place as {@code compute_config.restart} says: routed nothing while it
 * restarts, served again once its successor is in, and left failed once its restarts are spent or its deployment
 * has closed. No request is lost on the way.
 */
class ReplicaRestartTest {
    private static DeploymentRuntime simulated(FaultSpec fault, RestartSpec restart) throws java.io.IOException {
        // one sequence at a time per replica, so that requests queue behind the one running
        ReplicaSpec r = new ReplicaSpec(1, 4096, 0.9, 2, 2, 8, 1, 256, 16, true, false, null, null);
        return SimulatedRuntimes.of("restarts", r, 2, 1.0, new RouterSpec.RoundRobin(), fault, restart);
    }

    /** Sends a request of {@code maxTokens} tokens whose caller sees only its end; completes with that end. */
    private static CompletableFuture<Completion> send(DeploymentRuntime rt, int maxTokens) {
        CompletableFuture<Completion> done = new CompletableFuture<>();
        rt.submit(null, new int[] {1, 2, 3, 4, 5, 6, 7, 8}, SamplingParams.greedy(maxTokens), null, new TokenSink() {
            @Override
            public void onToken(int tokenId, String text) {}

            @Override
            public boolean rewind() {
                // a whole answer (stream: false): one cut by a failure runs again elsewhere
                return true;
            }

            @Override
            public void onFinished(Completion completion) {
                done.complete(completion);
            }
        });
        return done;
    }

    /** Waits (at most a minute: a liveness bound, not a measurement) for {@code condition}, then asserts it. */
    private static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean() && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
        assertThat(condition.getAsBoolean()).as(what).isTrue();
    }

    /** Sends requests, each awaited, until {@code condition} holds; every one must be answered in full. */
    private static void serveUntil(DeploymentRuntime rt, BooleanSupplier condition, String what) throws Exception {
        for (int i = 0; i < 200 && !condition.getAsBoolean(); i++) {
            Completion c = send(rt, 4).get(60, TimeUnit.SECONDS);
            assertThat(c.reason()).as("request %d: %s", i, c).isEqualTo(Completion.FinishReason.LENGTH);
        }
        await(condition, what);
    }

    @Test
    void aFailedReplicaIsRestartedInPlaceWithTheDeploymentsAdaptersAndServedAgain() throws Exception {
        // replica 0 fails at its 6th step; the pause before its restart (3 s) leaves time to see it restarting
        DeploymentRuntime rt = simulated(new FaultSpec(0, 0, 5), new RestartSpec(3, 3_000));
        try {
            rt.addAdapter(new DeploymentRuntime.AdapterDef("before", null, 8));
            ReplicaHandle first = rt.replica(0);
            serveUntil(rt, () -> rt.failed(0) || rt.replica(0) != first, "replica 0 failed");
            assertThat(rt.state(0)).isEqualTo("restarting");
            assertThat(rt.failure(0)).contains("failed on purpose after 5 steps");
            assertThat(rt.restarts(0)).isZero();
            // an adapter added while it restarts is registered on its successor too
            rt.addAdapter(new DeploymentRuntime.AdapterDef("during", null, 8));
            await(() -> rt.state(0).equals("serving"), "replica 0 serves again");
            assertThat(rt.restarts(0)).isEqualTo(1);
            assertThat(rt.replica(0)).isNotSameAs(first);
            assertThat(rt.replica(0).engine.adapterNames()).containsExactlyInAnyOrder("before", "during");
            assertThat(rt.failure(0)).isNull();
            assertThat(rt.state(1)).isEqualTo("serving");
            assertThat(rt.restarts(1)).isZero();
            // the fault drill fails the first run only: round robin sends every other request to the restarted one
            List<CompletableFuture<Completion>> later = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                later.add(send(rt, 4));
            }
            for (CompletableFuture<Completion> c : later) {
                assertThat(c.get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            }
            assertThat(rt.stats(0).finished()).isEqualTo(4);
            assertThat(rt.failed(0)).isFalse();
            await(() -> rt.totalInFlight() == 0, "nothing left in flight");
        } finally {
            rt.close();
        }
    }

    @Test
    void aReplicaThatFailsAfterEveryRestartStaysFailedOnceItsRestartsAreSpent() throws Exception {
        // every run of replica 0 fails at its 3rd step; two restarts allowed, at once
        DeploymentRuntime rt = simulated(new FaultSpec(0, 0, 2, true), new RestartSpec(2, 0));
        try {
            serveUntil(
                    rt,
                    () -> rt.restarts(0) == 2 && rt.state(0).equals("failed"),
                    "replica 0 failed three times and stays failed");
            assertThat(rt.failure(0)).contains("failed on purpose after 2 steps");
            // everything goes to replica 1 now, and is answered
            long before = rt.stats(1).finished();
            for (int i = 0; i < 4; i++) {
                assertThat(send(rt, 4).get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            }
            assertThat(rt.stats(1).finished() - before).isEqualTo(4);
            assertThat(rt.restarts(0)).isEqualTo(2);
            assertThat(rt.state(0)).isEqualTo("failed");
        } finally {
            rt.close();
        }
    }

    @Test
    void aRestartThatCannotRegisterTheDeploymentsAdaptersFailsAndIsTriedAgainUntilTheyAreSpent(
            @org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) throws Exception {
        java.nio.file.Path adapter = dir.resolve("sql");
        java.nio.file.Files.createDirectories(adapter);
        java.nio.file.Files.writeString(
                adapter.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 8, \"lora_alpha\": 16, \"target_modules\": [\"q_proj\"]}");
        DeploymentRuntime rt = simulated(new FaultSpec(0, 0, 5), new RestartSpec(2, 0));
        try {
            rt.addAdapter(new DeploymentRuntime.AdapterDef("sql", adapter, 0));
            // its files are gone when replica 0 restarts: no successor can serve what the other replica serves
            java.nio.file.Files.delete(adapter.resolve("adapter_config.json"));
            serveUntil(
                    rt,
                    () -> rt.restarts(0) == 2 && rt.state(0).equals("failed"),
                    "both restarts failed and replica 0 stays failed");
            assertThat(rt.failure(0))
                    .contains("failed on purpose after 5 steps")
                    .contains("restart 2 failed: adapter 'sql' could not be registered on it");
            // every request is served by replica 1 meanwhile
            assertThat(send(rt, 4).get(60, TimeUnit.SECONDS).reason()).isEqualTo(Completion.FinishReason.LENGTH);
            assertThat(rt.replica(1).engine.adapterNames()).containsExactly("sql");
        } finally {
            rt.close();
        }
    }

    @Test
    void noRestartedReplicaIsInstalledOnceTheDeploymentHasClosed() throws Exception {
        DeploymentRuntime rt = simulated(new FaultSpec(0, 0, 3), new RestartSpec(3, 2_000));
        ReplicaHandle failed;
        try {
            serveUntil(rt, () -> rt.failed(0), "replica 0 failed");
            failed = rt.replica(0);
            assertThat(rt.state(0)).isEqualTo("restarting");
        } finally {
            rt.close();
        }
        await(() -> !rt.state(0).equals("restarting"), "the pending restart gave up");
        assertThat(rt.replica(0)).isSameAs(failed);
        assertThat(rt.state(0)).isEqualTo("failed");
        assertThat(rt.restarts(0)).isZero();
    }

    @Test
    void withoutRestartsAFailedReplicaStaysFailed() throws Exception {
        DeploymentRuntime rt = simulated(new FaultSpec(0, 0, 3), RestartSpec.NEVER);
        try {
            serveUntil(rt, () -> rt.failed(0), "replica 0 failed");
            assertThat(rt.state(0)).isEqualTo("failed");
            assertThat(rt.restarts(0)).isZero();
        } finally {
            rt.close();
        }
    }
}
