package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.db.generated.tables.records.DeploymentsRecord;
import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.inference.DeploymentRuntime;
import io.twinserve.api.server.infra.Redis;
import io.twinserve.api.server.registry.Placement;
import io.twinserve.api.server.registry.RegistryService;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A new configuration is recorded as under way ({@code reconfiguring}) until the instance making it serves it, and
 * the other instances take it up only then. It used to be recorded as running from the start, so another instance
 * that synced the deployment meanwhile (any announcement, or the reconciliation after 10 minutes of a slow GPU build)
 * started a configuration that had not started anywhere yet; and a change whose announcement was lost waited 10
 * minutes to be followed. Here the other instance's side is written into the registry as it would write it.
 */
@ExtendWith(TestServer.Extension.class)
class ReconfiguringTest {

    @Test
    void aConfigurationUnderWayElsewhereIsTakenUpOnlyOnceItServes(TestServer s) throws Exception {
        String name = s.simulatedDeployment("reconfiguring", 1000);
        DeploymentManager manager = s.server().context().getBean(DeploymentManager.class);
        RegistryService registry = s.server().context().getBean(RegistryService.class);
        try (Connection c = s.jdbc()) {
            // every status the registry records for it, with the configuration's version
            c.createStatement()
                    .execute("create table status_log (name text, status text, version timestamptz, at serial)");
            c.createStatement()
                    .execute("create function log_status() returns trigger language plpgsql as $$ begin"
                            + " insert into status_log (name, status, version) values (new.name, new.status,"
                            + " new.updated_at); return new; end $$");
            c.createStatement()
                    .execute("create trigger log_status after update on deployments for each row"
                            + " execute function log_status()");
            try {
                // this instance reconfigures: under way until its new runtime serves, then running
                DeploymentsRecord r = registry.deploymentRecord(name);
                var cc = registry.computeConfigOf(r);
                cc.put("max_adapters", 8);
                Placement placement = registry.placementOf(r);
                DeploymentsRecord after = manager.reconfigure(r, cc, placement);
                assertThat(after.getStatus()).isEqualTo("running");
                assertThat(statuses(c, name, after))
                        .as("the new version's statuses in order")
                        .containsExactly("reconfiguring", "running");

                // another instance starts a new configuration: this one keeps what it runs, whatever it hears
                DeploymentRuntime serving = manager.get(name);
                update(c, name, "reconfiguring", 16, "now()");
                long before = manager.syncsDone();
                s.server().context().getBean(Redis.class).publish("twinserve:deployments:changed", "another|" + name);
                awaitSyncs(manager, before + 1);
                assertThat(manager.get(name)).as("not restarted mid-way").isSameAs(serving);
                // a reconciliation queues nothing: the announcement after it is the next sync the one thread runs
                before = manager.syncsDone();
                manager.reconcile();
                s.server().context().getBean(Redis.class).publish("twinserve:deployments:changed", "another|" + name);
                awaitSyncs(manager, before + 1);
                assertThat(manager.get(name)).isSameAs(serving);
                // and no second reconfiguration starts while one is under way
                DeploymentsRecord underWay = registry.deploymentRecord(name);
                var other = registry.computeConfigOf(underWay);
                other.put("max_adapters", 4);
                org.assertj.core.api.Assertions.assertThatThrownBy(
                                () -> manager.reconfigure(underWay, other, registry.placementOf(underWay)))
                        .isInstanceOf(ApiException.class)
                        .hasMessageContaining("is being reconfigured");
                assertThat(s.get("/api/deployments/" + name, s.adminKey())
                                .json()
                                .path("status")
                                .asText())
                        .isEqualTo("reconfiguring");

                // it serves there and says so, but the word is lost: the next reconciliation follows at once
                update(c, name, "running", 16, null);
                before = manager.syncsDone();
                manager.reconcile();
                awaitSyncs(manager, before + 1);
                assertThat(manager.get(name))
                        .as("restarted with the new configuration")
                        .isNotSameAs(serving);
                assertThat(registry.computeConfigOf(registry.deploymentRecord(name))
                                .path("max_adapters")
                                .asInt())
                        .isEqualTo(16);

                // one under way for longer than 10 minutes (its instance died mid-way) is taken up
                DeploymentRuntime second = manager.get(name);
                update(c, name, "reconfiguring", 32, "now() - interval '11 minutes'");
                before = manager.syncsDone();
                manager.reconcile();
                awaitSyncs(manager, before + 1);
                assertThat(manager.get(name)).isNotSameAs(second);
                TestServer.Reply ok = s.post(
                        "/v1/completions",
                        s.adminKey(),
                        "{\"model\": \"" + name + "\", \"prompt\": \"x\", \"max_tokens\": 2}");
                assertThat(ok.status()).as(ok.body()).isEqualTo(200);
                assertThat(s.get("/api/deployments/" + name, s.adminKey())
                                .json()
                                .path("status")
                                .asText())
                        .as("recorded as running once it serves here")
                        .isEqualTo("running");

                // a deployment this instance never ran, being reconfigured elsewhere: 503 until it serves there
                String waiting = name + "-w";
                try (var st = c.prepareStatement("insert into deployments (name, model_id, mode, compute_config,"
                        + " placement, time_scale, retain_text, status) select ?, model_id, mode, compute_config,"
                        + " placement, time_scale, retain_text, 'reconfiguring' from deployments where name = ?")) {
                    st.setString(1, waiting);
                    st.setString(2, name);
                    assertThat(st.executeUpdate()).isEqualTo(1);
                }
                manager.reconcile();
                TestServer.Reply wait = s.post(
                        "/v1/completions",
                        s.adminKey(),
                        "{\"model\": \"" + waiting + "\", \"prompt\": \"x\", \"max_tokens\": 2}");
                assertThat(wait.status()).as(wait.body()).isEqualTo(503);
                assertThat(wait.body()).contains("is being reconfigured on another server instance");
                update(c, waiting, "running", 8, null);
                before = manager.syncsDone();
                manager.reconcile();
                awaitSyncs(manager, before + 1);
                TestServer.Reply served = s.post(
                        "/v1/completions",
                        s.adminKey(),
                        "{\"model\": \"" + waiting + "\", \"prompt\": \"x\", \"max_tokens\": 2}");
                assertThat(served.status()).as(served.body()).isEqualTo(200);
                s.delete("/api/deployments/" + waiting, s.adminKey());
            } finally {
                c.createStatement().execute("drop trigger log_status on deployments");
                c.createStatement().execute("drop function log_status()");
                c.createStatement().execute("drop table status_log");
                s.delete("/api/deployments/" + name, s.adminKey());
            }
        }
    }

    /** The statuses recorded for {@code name} under {@code after}'s version, in order. */
    private static List<String> statuses(Connection c, String name, DeploymentsRecord after) throws Exception {
        List<String> out = new ArrayList<>();
        try (var st = c.prepareStatement("select status from status_log where name = ? and version = ? order by at")) {
            st.setString(1, name);
            st.setObject(2, after.getUpdatedAt());
            try (ResultSet r = st.executeQuery()) {
                while (r.next()) {
                    out.add(r.getString(1));
                }
            }
        }
        return out;
    }

    /** What another instance writes: a status, max_adapters in the configuration, and a new version when given. */
    private static void update(Connection c, String name, String status, int maxAdapters, String version)
            throws Exception {
        try (var st = c.prepareStatement("update deployments set status = ?, compute_config = jsonb_set("
                + "compute_config::jsonb, '{max_adapters}', to_jsonb(?::int))::text"
                + (version == null ? "" : ", updated_at = " + version) + " where name = ?")) {
            st.setString(1, status);
            st.setInt(2, maxAdapters);
            st.setString(3, name);
            assertThat(st.executeUpdate()).isEqualTo(1);
        }
    }

    private static void awaitSyncs(DeploymentManager manager, long atLeast) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (manager.syncsDone() < atLeast && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(manager.syncsDone()).isGreaterThanOrEqualTo(atLeast);
    }
}
