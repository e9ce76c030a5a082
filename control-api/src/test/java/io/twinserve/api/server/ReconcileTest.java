package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.server.inference.DeploymentManager;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A change another instance made whose announcement this instance never heard (Redis away when it was published)
 * is still followed: the periodic reconciliation compares the registry with what runs here.
 */
@ExtendWith(TestServer.Extension.class)
class ReconcileTest {

    @Test
    void aDeploymentRemovedWithoutAnAnnouncementStopsAtTheNextReconciliation(TestServer s) throws Exception {
        String name = s.simulatedDeployment("reconcile", 1000);
        assertThat(s.deployment(name)).isNotNull();
        // another instance deleted it, and its announcement was lost
        try (Connection c = s.jdbc()) {
            c.createStatement().execute("delete from deployments where name = '" + name + "'");
        }
        DeploymentManager manager = s.server().context().getBean(DeploymentManager.class);
        long before = manager.syncsDone();
        manager.reconcile();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (s.deployment(name) != null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(manager.syncsDone()).isGreaterThan(before);
        assertThat(s.deployment(name)).as("stopped here too").isNull();
        TestServer.Reply refused = s.post(
                "/v1/completions", s.adminKey(), "{\"model\": \"" + name + "\", \"prompt\": \"x\", \"max_tokens\": 1}");
        assertThat(refused.status()).as(refused.body()).isEqualTo(404);
    }
}
