package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.inference.DeploymentRuntime;
import io.twinserve.api.server.infra.Redis;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A change another server instance announces (an adapter added to the model, say) is followed without restarting a
 * deployment whose configuration did not change. The instance that created the deployment used to restart it at the
 * first such announcement: recording its status had moved the configuration's version after it had started.
 */
@ExtendWith(TestServer.Extension.class)
class AnnouncedChangeTest {

    @Test
    void anAnnouncedChangeDoesNotRestartADeploymentWhoseConfigurationIsTheSame(TestServer s) throws Exception {
        String name = s.simulatedDeployment("announce", 1000);
        try {
            DeploymentRuntime started = s.deployment(name);
            DeploymentManager manager = s.server().context().getBean(DeploymentManager.class);
            long before = manager.syncsDone();
            // what another instance publishes after changing the deployment's model (its adapters)
            s.server().context().getBean(Redis.class).publish("twinserve:deployments:changed", "another|" + name);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (manager.syncsDone() == before && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(manager.syncsDone()).as("the announcement was followed").isGreaterThan(before);
            assertThat(s.deployment(name))
                    .as("the same runtime, not a restarted one")
                    .isSameAs(started);
            TestServer.Reply served = s.post(
                    "/v1/completions",
                    s.adminKey(),
                    "{\"model\": \"" + name + "\", \"prompt\": \"still here\", \"max_tokens\": 2}");
            assertThat(served.status()).as(served.body()).isEqualTo(200);
        } finally {
            s.delete("/api/deployments/" + name, s.adminKey());
        }
    }
}
