package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.server.auth.Role;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two server instances on one PostgreSQL and one Redis, a live deployment that serves on one and cannot start on the
 * other: any instance says where it serves and why not elsewhere. Before, the registry said running and the serving
 * instance showed nothing of the other's failure; only the failing instance knew.
 */
class InstanceStatesTest {
    @TempDir
    Path dirA;

    @TempDir
    Path dirB;

    @TempDir
    Path models;

    @Test
    void everyInstanceSaysWhereADeploymentServesAndWhyNotElsewhere() throws Exception {
        Path model = models.resolve("tiny");
        TinyModels.llama(model);
        try (TwinserveServer a = TwinserveServer.start(KeyedHttp.firstInstance(dirA))) {
            TwinserveServer.Options optionsB = KeyedHttp.secondInstance(a, dirB);
            String key;
            try (AdminDatabase d = AdminDatabase.open(dirA)) {
                key = d.access().createKey("states-admin", Role.ADMIN).key();
            }
            TwinserveServer b = TwinserveServer.start(optionsB);
            try {
                assertThat(send(a.uri(), key, "POST", "/api/compute-pools", "{\"name\": \"cpu\", \"gpu\": \"cpu\"}")
                                .statusCode())
                        .isEqualTo(201);
                assertThat(send(
                                        a.uri(),
                                        key,
                                        "POST",
                                        "/api/models",
                                        "{\"name\": \"tiny\", \"path\": \"" + model + "\"}")
                                .statusCode())
                        .isEqualTo(201);
                HttpResponse<String> created = send(
                        a.uri(),
                        key,
                        "POST",
                        "/api/deployments",
                        "{\"name\": \"spread\", \"model\": \"tiny\", \"mode\": \"live\", \"compute_config\":"
                                + " {\"kv_cache_len\": 256}, \"placement\": {\"compute_pools\": [\"cpu\"]}}");
                assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
                // B learns of it through Redis and starts it too
                JsonNode both = awaitInstances(
                        a.uri(), key, l -> l.size() == 2 && l.stream().allMatch(s -> s.equals("serving")));
                assertThat(both.path("status").asText()).isEqualTo("running");
                for (JsonNode s : both.get("instances")) {
                    assertThat(s.path("host").asText()).isNotEmpty();
                    assertThat(s.path("since").asText()).isNotEmpty();
                    assertThat(s.has("error")).isFalse();
                }

                // an unreadable entry (another writer, a cut write) hides only itself
                a.context()
                        .getBean(io.twinserve.api.server.infra.Redis.class)
                        .async()
                        .set("twinserve:deployment-instance:spread:garbled", "{not json")
                        .get(5, TimeUnit.SECONDS);
                a.context()
                        .getBean(io.twinserve.api.server.infra.Redis.class)
                        .async()
                        .sadd("twinserve:deployment-instances", "twinserve:deployment-instance:spread:garbled")
                        .get(5, TimeUnit.SECONDS);
                assertThat(awaitInstances(a.uri(), key, l -> l.size() == 2).get("instances"))
                        .hasSize(2);
                a.context()
                        .getBean(io.twinserve.api.server.infra.Redis.class)
                        .async()
                        .del("twinserve:deployment-instance:spread:garbled")
                        .get(5, TimeUnit.SECONDS);
                // an entry gone (expired) leaves the index at the next read
                awaitInstances(a.uri(), key, l -> l.size() == 2);
                assertThat(a.context()
                                .getBean(io.twinserve.api.server.infra.Redis.class)
                                .async()
                                .sismember(
                                        "twinserve:deployment-instances",
                                        "twinserve:deployment-instance:spread:garbled")
                                .get(5, TimeUnit.SECONDS))
                        .isFalse();

                // B stops (its entry goes with it) and comes back on a machine without the model's files
                b.close();
                b = null;
                JsonNode alone = awaitInstances(a.uri(), key, l -> l.equals(List.of("serving")));
                assertThat(alone.get("instances")).hasSize(1);
                Path away = models.resolve("tiny-away");
                Files.move(model, away);
                b = TwinserveServer.start(optionsB);
                JsonNode partial = awaitInstances(
                        a.uri(), key, l -> l.size() == 2 && l.contains("serving") && l.contains("failed"));
                assertThat(partial.path("status").asText())
                        .as("A serves it: the registry's status and A's agree")
                        .isEqualTo("running");
                JsonNode failed = null;
                for (JsonNode s : partial.get("instances")) {
                    if (s.path("state").asText().equals("failed")) {
                        failed = s;
                    }
                }
                assertThat(failed).isNotNull();
                assertThat(failed.path("error").asText()).as(failed.toString()).contains(model.toString());
                // B says the same, and that it failed there
                JsonNode fromB = TestServer.JSON.readTree(send(b.uri(), key, "GET", "/api/deployments/spread", null)
                        .body());
                assertThat(fromB.path("status").asText()).isEqualTo("failed");
                assertThat(states(fromB)).containsExactlyInAnyOrderElementsOf(states(partial));
                // the list shows them too
                JsonNode list = TestServer.JSON.readTree(
                        send(a.uri(), key, "GET", "/api/deployments", null).body());
                assertThat(states(list.get(0))).containsExactlyInAnyOrder("serving", "failed");
            } finally {
                if (b != null) {
                    b.close();
                }
            }
        }
    }

    private static List<String> states(JsonNode deployment) {
        List<String> out = new ArrayList<>();
        for (JsonNode s : deployment.path("instances")) {
            out.add(s.path("state").asText());
        }
        return out;
    }

    /** GET /api/deployments/spread on {@code uri} until its instances' states satisfy {@code wanted} (60 s at most). */
    private JsonNode awaitInstances(URI uri, String key, Predicate<List<String>> wanted) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = send(uri, key, "GET", "/api/deployments/spread", null);
            if (r.statusCode() == 200) {
                last = TestServer.JSON.readTree(r.body());
                if (wanted.test(states(last))) {
                    return last;
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the instances never reached the expected states; last: " + last);
    }

    private static HttpResponse<String> send(URI base, String key, String method, String path, String body)
            throws Exception {
        return KeyedHttp.send(base, key, method, path, body);
    }
}
