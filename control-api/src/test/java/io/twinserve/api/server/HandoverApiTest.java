package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.server.inference.DeploymentRuntime;
import io.twinserve.api.server.inference.FaultSpec;
import io.twinserve.api.server.inference.SimulatedRuntimes;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.router.RouterSpec;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A deployment restarting on a GPU its old replicas fill drains them first, and the requests that arrive meanwhile
 * wait for the new replicas (minutes, while a model uploads). They must wait off the event loops: more of them
 * than the server has event loops once held every loop, and the whole server (health, metrics, the console, every
 * other deployment) stopped answering until the restart ended.
 */
@ExtendWith(TestServer.Extension.class)
class HandoverApiTest {

    @Test
    void requestsWaitingForARestartLeaveTheEventLoopsFreeAndAreServedByTheNewReplicas(TestServer s) throws Exception {
        String name = s.simulatedDeployment("handover", 1000);
        DeploymentRuntime old = s.deployment(name);
        // what the manager does for a live CUDA deployment's new configuration: the old replicas drain and free
        // the device, and the successor is built after
        CompletableFuture<DeploymentRuntime> handover = new CompletableFuture<>();
        old.drainFor(handover);
        // Netty gives a server twice as many event loops as processors
        int waiting = 2 * Runtime.getRuntime().availableProcessors() + 2;
        ExecutorService clients = Executors.newFixedThreadPool(waiting);
        DeploymentRuntime next = null;
        try {
            List<Future<TestServer.Reply>> replies = new ArrayList<>();
            for (int i = 0; i < waiting; i++) {
                replies.add(clients.submit(() -> s.post(
                        "/v1/completions",
                        s.adminKey(),
                        "{\"model\": \"" + name + "\", \"prompt\": \"during the restart\", \"max_tokens\": 4,"
                                + " \"ignore_eos\": true}")));
            }
            // every one has reached the deployment and waits for its successor (on an event loop, only as many as
            // there are loops ever would)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (old.awaitingSuccessor() < waiting && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(old.awaitingSuccessor())
                    .as("requests waiting for the successor")
                    .isEqualTo(waiting);
            // a call answered on an event loop is answered meanwhile
            TestServer.Reply models = s.get("/v1/models", s.adminKey());
            assertThat(models.status()).as(models.body()).isEqualTo(200);
            TestServer.Reply deployment = s.get("/api/deployments/" + name, s.adminKey());
            assertThat(deployment.status()).as(deployment.body()).isEqualTo(200);
            assertThat(replies).noneMatch(Future::isDone);

            ReplicaSpec replica = new ReplicaSpec(1, 4096, 0.9, 2, 2, 8, 8, 256, 16, true, false, null, null);
            next = SimulatedRuntimes.of(name, replica, 1, 1000.0, new RouterSpec.RoundRobin(), FaultSpec.NONE);
            handover.complete(next);
            for (Future<TestServer.Reply> f : replies) {
                TestServer.Reply r = f.get(120, TimeUnit.SECONDS);
                assertThat(r.status()).as(r.body()).isEqualTo(200);
                assertThat(r.json().path("usage").path("completion_tokens").asInt())
                        .as(r.body())
                        .isEqualTo(4);
            }
            assertThat(old.awaitingSuccessor()).isZero();
        } finally {
            clients.shutdownNow();
            if (!handover.isDone()) {
                handover.completeExceptionally(new IllegalStateException("test ended"));
            }
            s.delete("/api/deployments/" + name, s.adminKey());
            if (next != null) {
                next.close();
            }
        }
    }
}
