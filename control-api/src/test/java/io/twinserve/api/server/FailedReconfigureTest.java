package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.db.generated.tables.records.DeploymentsRecord;
import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.inference.DeploymentRuntime;
import io.twinserve.api.server.registry.Placement;
import io.twinserve.api.server.registry.RegistryService;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A restart with a new configuration that fails to start leaves the deployment as it was: its configuration of
 * before in the registry, its status running, and its old runtime serving (it used to be marked failed, with the
 * new configuration recorded, while the old runtime went on serving, and a server restart then dropped it).
 */
@ExtendWith(TestServer.Extension.class)
class FailedReconfigureTest {
    @Test
    void aConfigurationThatFailsToStartLeavesTheDeploymentAsItWas(TestServer s) {
        String pool = s.unique("reconf-h100");
        String model = s.unique("reconf-llama8b");
        String name = s.unique("reconf");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + name + "\", \"model\": \"" + model + "\", \"time_scale\": 1000,"
                        + " \"compute_config\": {\"max_adapters\": 4, \"fault\": {\"fail_replica\": 1,"
                        + " \"fail_after_steps\": 1000000000}},"
                        + " \"placement\": {\"compute_pools\": [\"" + pool + "\"], \"min_replicas\": 2}}");
        try {
            DeploymentManager manager = s.server().context().getBean(DeploymentManager.class);
            RegistryService registry = s.server().context().getBean(RegistryService.class);
            DeploymentRuntime before = manager.get(name);
            DeploymentsRecord r = registry.deploymentRecord(name);
            Placement old = registry.placementOf(r);
            // one replica now, while the fault drill names replica 1: the new runtime cannot start
            Placement fewer = new Placement(old.computePools(), old.maxTtftMs(), 1, 1, old.router());
            var cc = registry.computeConfigOf(r);
            cc.put("max_adapters", 8);
            assertThatThrownBy(() -> manager.reconfigure(r, cc, fewer)).hasMessageContaining("fail_replica");

            JsonNode d = s.get("/api/deployments/" + name, s.adminKey()).json();
            assertThat(d.path("status").asText()).isEqualTo("running");
            assertThat(d.at("/compute_config/max_adapters").asInt()).isEqualTo(4);
            assertThat(d.at("/placement/min_replicas").asInt()).isEqualTo(2);
            assertThat(manager.get(name)).isSameAs(before);
            // and under its version of before: no instance takes the configuration put back for a new one (a
            // reconciliation would restart it everywhere)
            assertThat(d.path("updated_at").asText()).isEqualTo(r.getUpdatedAt().toString());
            long syncs = manager.syncsDone();
            manager.reconcile();
            assertThat(manager.syncsDone()).as("nothing to follow").isEqualTo(syncs);
            assertThat(manager.get(name)).isSameAs(before);
            TestServer.Reply ok = s.post(
                    "/v1/completions",
                    s.adminKey(),
                    "{\"model\": \"" + name + "\", \"prompt\": \"still here\", \"max_tokens\": 4}");
            assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        } finally {
            s.delete("/api/deployments/" + name, s.adminKey());
        }
    }
}
