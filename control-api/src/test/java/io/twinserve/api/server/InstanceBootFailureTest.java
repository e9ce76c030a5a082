package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.infra.DataServices;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * A deployment that cannot start on one server instance (here: its model's files are gone from this machine) is
 * that instance's failure, not the deployment's: the registry keeps it running for the other instances, this one
 * answers its requests with 503 naming why, shows it failed with the reason, and starts it at the next
 * reconciliation once it can. It used to mark the deployment failed in the shared registry, which stopped it on
 * every instance.
 */
class InstanceBootFailureTest {
    private static TwinserveServer start(Path dir) {
        return TwinserveServer.start(new TwinserveServer.Options(dir, null, null, "127.0.0.1", 0, false, Map.of()));
    }

    @Test
    void aDeploymentThatCannotStartHereStaysRunningInTheRegistryAndStartsOnceItCan() throws Exception {
        assumeTrue(
                System.getenv("TWINSERVE_TEST_DATABASE_URL") == null
                        && System.getenv("TWINSERVE_TEST_REDIS_URL") == null,
                "restarts a server on its own embedded data");
        Path dir = Files.createTempDirectory("twinserve-boot-failure");
        Path model = dir.resolve("tiny");
        TinyModels.llama(model);
        TwinserveServer server = start(dir);
        String key;
        try (AdminDatabase admin = AdminDatabase.open(dir)) {
            key = admin.access().createKey("boot-admin", Role.ADMIN).key();
        }
        try {
            URI uri = server.uri();
            assertThat(send(uri, key, "POST", "/api/compute-pools", "{\"name\": \"cpu\", \"gpu\": \"cpu\"}")
                            .statusCode())
                    .isEqualTo(201);
            assertThat(send(uri, key, "POST", "/api/models", "{\"name\": \"tiny\", \"path\": \"" + model + "\"}")
                            .statusCode())
                    .isEqualTo(201);
            HttpResponse<String> created = send(
                    uri,
                    key,
                    "POST",
                    "/api/deployments",
                    "{\"name\": \"boot\", \"model\": \"tiny\", \"mode\": \"live\", \"compute_config\":"
                            + " {\"kv_cache_len\": 256}, \"placement\": {\"compute_pools\": [\"cpu\"]}}");
            assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
            server.close();
            server = null;

            // this machine loses the model's files; the next start cannot build the deployment here
            Path away = dir.resolve("tiny-away");
            Files.move(model, away);
            server = start(dir);
            uri = server.uri();
            JsonNode shown = TestServer.JSON.readTree(
                    send(uri, key, "GET", "/api/deployments/boot", null).body());
            assertThat(shown.path("status").asText()).as(shown.toString()).isEqualTo("failed");
            assertThat(shown.path("error").asText()).startsWith("could not start on this server instance: ");
            assertThat(registryStatus(server))
                    .as("the registry's status, for the other instances")
                    .isEqualTo("running");
            HttpResponse<String> refused = send(
                    uri, key, "POST", "/v1/completions", "{\"model\": \"boot\", \"prompt\": \"x\", \"max_tokens\": 2}");
            assertThat(refused.statusCode()).as(refused.body()).isEqualTo(503);
            assertThat(refused.body()).contains("is not serving on this server instance: it could not start here");
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("30");

            // the files are back: the next reconciliation starts it
            Files.move(away, model);
            DeploymentManager manager = server.context().getBean(DeploymentManager.class);
            // (tried again after 30 s, then backing off; here at once)
            manager.retry("boot");
            manager.reconcile();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (manager.get("boot") == null && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            HttpResponse<String> served = send(
                    uri, key, "POST", "/v1/completions", "{\"model\": \"boot\", \"prompt\": \"x\", \"max_tokens\": 2}");
            assertThat(served.statusCode()).as(served.body()).isEqualTo(200);
            assertThat(manager.notStartedHere("boot")).isNull();

        } finally {
            if (server != null) {
                server.close();
            }
            TestServer.deleteTree(dir);
        }
    }

    private static String registryStatus(TwinserveServer server) throws Exception {
        DataServices.Database db = server.services().database();
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                ResultSet r = c.createStatement().executeQuery("select status from deployments where name = 'boot'")) {
            r.next();
            return r.getString(1);
        }
    }

    private static HttpResponse<String> send(URI base, String key, String method, String path, String body)
            throws Exception {
        return KeyedHttp.send(base, key, method, path, body);
    }
}
