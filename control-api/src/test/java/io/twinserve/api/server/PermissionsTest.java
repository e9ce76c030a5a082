package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Who may call what: keys (missing, wrong, revoked), roles, and per-user grants on a deployment or on one
 * adapter of it, each change taking effect on the next request.
 */
@ExtendWith(TestServer.Extension.class)
class PermissionsTest {
    private static TestServer server;
    private static String deployment;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        deployment = s.unique("perm");
        String pool = s.unique("perm-h100");
        String model = s.unique("perm-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\"}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create("/api/models/" + model + "/adapters", "{\"name\": \"a\", \"rank\": 8}");
        s.create("/api/models/" + model + "/adapters", "{\"name\": \"b\", \"rank\": 8}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model + "\","
                        + " \"compute_config\": {\"max_adapters\": 2}, \"placement\": {\"compute_pools\": [\"" + pool
                        + "\"]},"
                        + " \"time_scale\": 1000}");
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + deployment, server.adminKey());
    }

    private static TestServer.Reply chat(String key, String model) {
        return server.post(
                "/v1/chat/completions",
                key,
                "{\"model\": \"" + model + "\", \"messages\": [{\"role\":"
                        + " \"user\", \"content\": \"hello\"}], \"max_tokens\": 2}");
    }

    private static List<String> modelIds(String key) {
        TestServer.Reply r = server.get("/v1/models", key);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        r.json().path("data").forEach(m -> ids.add(m.path("id").asText()));
        return ids;
    }

    @Test
    void requestWithoutKeyIsUnauthorizedWithOpenAiErrorJson() {
        TestServer.Reply r = chat(null, deployment);
        assertThat(r.status()).isEqualTo(401);
        JsonNode e = r.error();
        assertThat(e.path("type").asText()).isEqualTo("authentication_error");
        assertThat(e.path("message").asText()).contains("Authorization: Bearer");
        assertThat(server.get("/v1/models", null).status()).isEqualTo(401);
    }

    @Test
    void unknownKeyIsUnauthorized() {
        TestServer.Reply r = chat("tsk_thisKeyWasNeverIssued", deployment);
        assertThat(r.status()).isEqualTo(401);
        assertThat(r.error().path("message").asText()).contains("not valid");
        TestServer.Reply notBearer =
                server.send("GET", "/v1/models", null, null, Map.of("Authorization", "Basic dXNlcjpwYXNz"));
        assertThat(notBearer.status()).isEqualTo(401);
    }

    @Test
    void revokedKeyIsUnauthorizedOnTheVeryNextRequest() {
        JsonNode created = server.createKey(server.unique("revoked-op"), "operator");
        String key = created.path("key").asText();
        assertThat(chat(key, deployment).status()).isEqualTo(200);

        TestServer.Reply revoke =
                server.delete("/api/keys/" + created.path("id").asLong(), server.adminKey());
        assertThat(revoke.status()).as(revoke.body()).isEqualTo(200);

        TestServer.Reply after = chat(key, deployment);
        assertThat(after.status()).isEqualTo(401);
        assertThat(after.error().path("message").asText()).contains("revoked");
        assertThat(server.delete("/api/keys/" + created.path("id").asLong(), server.adminKey())
                        .status())
                .as("revoking twice")
                .isEqualTo(404);
    }

    @Test
    void userWithoutGrantDoesNotSeeTheDeploymentUntilGranted() {
        String user = server.unique("nogrant");
        String key = server.createKey(user, "user").path("key").asText();

        TestServer.Reply r = chat(key, deployment);
        assertThat(r.status())
                .as("a deployment the key may not use is answered as absent")
                .isEqualTo(404);
        assertThat(r.error().path("code").asText()).isEqualTo("not_found");
        assertThat(r.error().path("param").asText()).isEqualTo("model");
        assertThat(modelIds(key)).doesNotContain(deployment, deployment + ":a", deployment + ":b");

        server.create("/api/permissions", "{\"user\": \"" + user + "\", \"deployment\": \"" + deployment + "\"}");
        TestServer.Reply granted = chat(key, deployment);
        assertThat(granted.status()).as(granted.body()).isEqualTo(200);
        assertThat(granted.json().path("usage").path("completion_tokens").asInt())
                .isPositive();
        assertThat(chat(key, deployment + ":b").status())
                .as("a deployment grant covers its adapters")
                .isEqualTo(200);
        assertThat(modelIds(key)).contains(deployment, deployment + ":a", deployment + ":b");
    }

    @Test
    void adapterGrantAllowsThatAdapterOnly() {
        String user = server.unique("only-a");
        String key = server.createKey(user, "user").path("key").asText();
        server.create(
                "/api/permissions",
                "{\"user\": \"" + user + "\", \"deployment\": \"" + deployment + "\"," + " \"adapter\": \"a\"}");

        TestServer.Reply a = chat(key, deployment + ":a");
        assertThat(a.status()).as(a.body()).isEqualTo(200);
        assertThat(a.json().path("model").asText()).isEqualTo(deployment + ":a");

        TestServer.Reply b = chat(key, deployment + ":b");
        assertThat(b.status()).isEqualTo(403);
        assertThat(b.error().path("type").asText()).isEqualTo("permission_error");
        assertThat(b.error().path("message").asText()).contains("adapter 'b'").contains(user);

        TestServer.Reply base = chat(key, deployment);
        assertThat(base.status())
                .as("the base model is not part of an adapter grant")
                .isEqualTo(403);

        assertThat(modelIds(key)).contains(deployment + ":a").doesNotContain(deployment, deployment + ":b");
    }

    @Test
    void userKeyCannotAdministerKeysOrRegistry() {
        String key =
                server.createKey(server.unique("plain"), "user").path("key").asText();
        TestServer.Reply keys = server.post("/api/keys", key, "{\"user\": \"x\", \"role\": \"admin\"}");
        assertThat(keys.status()).isEqualTo(403);
        assertThat(keys.error().path("message").asText()).contains("admin role");
        TestServer.Reply pool = server.post("/api/compute-pools", key, "{\"name\": \"p\", \"gpu\": \"cpu\"}");
        assertThat(pool.status()).isEqualTo(403);
        assertThat(pool.error().path("message").asText()).contains("operator role");
    }
}
