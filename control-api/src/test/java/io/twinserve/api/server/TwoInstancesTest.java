package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.api.server.auth.Role;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two server instances on one PostgreSQL and one Redis: a deployment made on one serves on the other, a
 * key revoked on one stops working on the other within a second, and a session is routed to the same
 * replica whichever instance takes it.
 */
class TwoInstancesTest {
    @TempDir
    Path dirA;

    @TempDir
    Path dirB;

    private static HttpResponse<String> send(
            TwinserveServer s, String key, String method, String path, String body, String session) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(s.uri() + path))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (session != null) {
            b.header("X-Session-Id", session);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static int replicaWith(TwinserveServer s, String key, long[] finishedBefore) throws Exception {
        var replicas = Bodies.JSON
                .readTree(send(s, key, "GET", "/api/deployments/shared", null, null)
                        .body())
                .get("replicas");
        int moved = -1;
        for (int i = 0; i < replicas.size(); i++) {
            long f = replicas.get(i).get("finished").asLong();
            if (f > finishedBefore[i]) {
                moved = i;
            }
            finishedBefore[i] = f;
        }
        return moved;
    }

    @Test
    void deploymentsKeysAndSessionsAreSharedThroughPostgresAndRedis() throws Exception {
        try (TwinserveServer a = TwinserveServer.start(KeyedHttp.firstInstance(dirA))) {
            try (TwinserveServer b = TwinserveServer.start(KeyedHttp.secondInstance(a, dirB))) {
                String admin;
                String user;
                long userKeyId;
                try (AdminDatabase d = AdminDatabase.open(dirA)) {
                    admin = d.access().createKey("root", Role.ADMIN).key();
                    var created = d.access().createKey("shared-user", Role.USER);
                    user = created.key();
                    userKeyId = created.id();
                }
                assertThat(send(
                                        a,
                                        admin,
                                        "POST",
                                        "/api/compute-pools",
                                        "{\"name\": \"p\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}",
                                        null)
                                .statusCode())
                        .isEqualTo(201);
                assertThat(send(
                                        a,
                                        admin,
                                        "POST",
                                        "/api/models",
                                        "{\"name\": \"m\", \"profile\": \"llama-3.1-8b\"}",
                                        null)
                                .statusCode())
                        .isEqualTo(201);
                assertThat(send(
                                        a,
                                        admin,
                                        "POST",
                                        "/api/deployments",
                                        "{\"name\": \"shared\", \"model\": \"m\", \"time_scale\": 1000,"
                                                + " \"placement\": {\"compute_pools\": [\"p\"], \"min_replicas\": 4}}",
                                        null)
                                .statusCode())
                        .isEqualTo(201);
                assertThat(send(
                                        a,
                                        admin,
                                        "POST",
                                        "/api/permissions",
                                        "{\"user\": \"shared-user\", \"deployment\": \"shared\"}",
                                        null)
                                .statusCode())
                        .isEqualTo(201);
                String call = "{\"model\": \"shared\", \"prompt\": \"hi\", \"max_tokens\": 2}";
                // B learns of the deployment through Redis
                int status = 0;
                for (int i = 0; i < 100 && status != 200; i++) {
                    status =
                            send(b, user, "POST", "/v1/completions", call, null).statusCode();
                    if (status != 200) {
                        Thread.sleep(50);
                    }
                }
                assertThat(status).isEqualTo(200);

                // a session lands on the same replica index on both instances
                long[] seenA = new long[4];
                long[] seenB = new long[4];
                replicaWith(a, admin, seenA);
                replicaWith(b, admin, seenB);
                assertThat(send(a, user, "POST", "/v1/completions", call, "conversation-1")
                                .statusCode())
                        .isEqualTo(200);
                int onA = replicaWith(a, admin, seenA);
                for (int i = 0; i < 3; i++) {
                    assertThat(send(b, user, "POST", "/v1/completions", call, "conversation-1")
                                    .statusCode())
                            .isEqualTo(200);
                    assertThat(replicaWith(b, admin, seenB)).isEqualTo(onA);
                }

                // revoked on A: refused on B (which had the key cached a moment ago). The one-second bound holds by
                // construction (Redis message, and a cache entry lives 1 s at most); the test allows a loaded
                // machine more, since it checks the refusal, not the speed

                assertThat(send(a, admin, "DELETE", "/api/keys/" + userKeyId, null, null)
                                .statusCode())
                        .isEqualTo(200);
                long revokedAt = System.nanoTime();
                int after = 200;
                while (after == 200 && System.nanoTime() - revokedAt < 10_000_000_000L) {
                    after = send(b, user, "POST", "/v1/completions", call, null).statusCode();
                }
                assertThat(after).isEqualTo(401);
            }
        }
    }
}
