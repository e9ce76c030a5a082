package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpRequest;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The console's server side without a browser: the session cookie's flags, that a session is the key (its role,
 * its refusals, its revocation), the CSRF token on every change, signing out, the YAML check with lines and key
 * paths, and the job list that the studies page shows.
 */
@ExtendWith(TestServer.Extension.class)
class ConsoleApiTest {
    private static TestServer server;

    @BeforeAll
    static void start(TestServer s) {
        server = s;
    }

    /** A signed-in session: its cookie ("twinserve_session=...") and CSRF token. */
    record Session(String cookie, String csrf, JsonNode me) {}

    private static Session signIn(String key) {
        TestServer.Reply r = server.post("/console/session", null, "{\"key\": \"" + key + "\"}");
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        String setCookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        assertThat(setCookie)
                .startsWith("twinserve_session=")
                .containsIgnoringCase("HttpOnly")
                .containsIgnoringCase("SameSite=Strict")
                .contains("Path=/");
        return new Session(
                setCookie.substring(0, setCookie.indexOf(';')),
                r.json().path("csrf").asText(),
                r.json());
    }

    private static TestServer.Reply as(Session s, String method, String path, String body, boolean withCsrf) {
        Map<String, String> headers = new java.util.HashMap<>();
        headers.put("Cookie", s.cookie());
        if (withCsrf) {
            headers.put("X-CSRF-Token", s.csrf());
        }
        return server.send(
                method, path, null, body == null ? null : HttpRequest.BodyPublishers.ofString(body), headers);
    }

    @Test
    void aSessionIsItsKeyAndEveryChangeCarriesTheCsrfToken() {
        String user = server.unique("console-api-user");
        JsonNode created = server.createKey(user, "user");
        Session s = signIn(created.path("key").asText());
        assertThat(s.me().path("user").asText()).isEqualTo(user);
        assertThat(s.me().path("role").asText()).isEqualTo("user");
        assertThat(s.csrf()).hasSizeGreaterThan(20);

        // reading needs only the cookie; the key's role still decides
        assertThat(as(s, "GET", "/api/deployments", null, false).status()).isEqualTo(200);
        TestServer.Reply keys = as(s, "GET", "/api/keys", null, false);
        assertThat(keys.status()).isEqualTo(403);
        assertThat(keys.error().path("message").asText()).contains("admin role");
        // a change without the token is refused before any controller runs; with it, it goes through
        String body = "{\"workload\": null, \"deployment\": {\"name\": \"x\", \"model\": \"llama-3.1-8b\", \"gpu\": "
                + "\"h100-64gb\"}, \"window_s\": 5}";
        TestServer.Reply noToken = as(s, "POST", "/api/simulations", body, false);
        assertThat(noToken.status()).isEqualTo(403);
        assertThat(noToken.error().path("message").asText()).contains("CSRF token");
        TestServer.Reply withToken = as(s, "POST", "/api/simulations", body, true);
        assertThat(withToken.status()).as(withToken.body()).isEqualTo(202);
        String job = withToken.json().path("id").asText();
        // the studies list: the user's own jobs, not every user's
        JsonNode mine = as(s, "GET", "/api/jobs?kind=simulation", null, false).json();
        assertThat(mine).extracting(j -> j.path("id").asText()).contains(job);
        assertThat(mine.get(0).has("result")).isFalse();
        assertThat(as(s, "GET", "/api/jobs?all=true", null, false).status()).isEqualTo(403);
        JsonNode everyone =
                server.get("/api/jobs?all=true&limit=500", server.adminKey()).json();
        assertThat(everyone).extracting(j -> j.path("id").asText()).contains(job);
        assertThat(server.get("/api/jobs?kind=nothing", server.adminKey()).status())
                .isEqualTo(400);

        // the session follows its key: revoked, the session ends at once
        server.delete("/api/keys/" + created.path("id").asLong(), server.adminKey());
        TestServer.Reply after = as(s, "GET", "/api/deployments", null, false);
        assertThat(after.status()).isEqualTo(401);
        assertThat(after.error().path("message").asText()).contains("no longer valid");
    }

    @Test
    void signingOutEndsTheSessionAndABadKeyOpensNone() {
        TestServer.Reply bad = server.post("/console/session", null, "{\"key\": \"tsk_nope\"}");
        assertThat(bad.status()).isEqualTo(401);
        assertThat(bad.headers().firstValue("Set-Cookie")).isEmpty();
        Session s = signIn(server.adminKey());
        assertThat(as(s, "GET", "/console/session", null, false)
                        .json()
                        .path("role")
                        .asText())
                .isEqualTo("admin");
        assertThat(as(s, "DELETE", "/console/session", null, false).status()).isEqualTo(403);
        TestServer.Reply out = as(s, "DELETE", "/console/session", null, true);
        assertThat(out.status()).isEqualTo(200);
        assertThat(out.headers().firstValue("Set-Cookie").orElseThrow()).contains("Max-Age=0");
        assertThat(as(s, "GET", "/console/session", null, false).status()).isEqualTo(401);
        TestServer.Reply gone = as(s, "GET", "/api/deployments", null, false);
        assertThat(gone.status()).isEqualTo(401);
        assertThat(gone.error().path("message").asText()).contains("session has ended");
        // a made-up session id is no session either
        TestServer.Reply forged =
                server.send("GET", "/api/deployments", null, null, Map.of("Cookie", "twinserve_session=forged"));
        assertThat(forged.status()).isEqualTo(401);
    }

    @Test
    void theYamlCheckNamesTheLineAndTheKeyPathWithTheParsersMessage() {
        String yaml = """
                name: w
                seed: 1
                duration_s: 60
                arrivals: {type: poisson, rate_tiers: [0.5]}
                adapters:
                  count: 4
                  rnks: [8]
                lengths: {prompt: {type: lognormal, mean: 100, std: 50}, output: {type: lognormal, mean: 40, std: 20}}
                """;
        String body = "{\"kind\": \"workload\", \"yaml\": " + TestServer.JSON.valueToTree(yaml) + "}";
        TestServer.Reply r = server.post("/console/yaml", server.adminKey(), body);
        assertThat(r.status()).isEqualTo(400);
        JsonNode e = r.json().path("error");
        assertThat(e.path("line").asInt()).isEqualTo(7);
        assertThat(e.path("key_path").asText()).isEqualTo("adapters.rnks");
        assertThat(e.path("param").asText()).isEqualTo("workload.adapters.rnks");
        assertThat(e.path("message").asText()).contains("ranks");
        String fixed = "{\"kind\": \"workload\", \"yaml\": "
                + TestServer.JSON.valueToTree(yaml.replace("rnks", "ranks")) + "}";
        TestServer.Reply ok = server.post("/console/yaml", server.adminKey(), fixed);
        assertThat(ok.status()).as(ok.body()).isEqualTo(200);
        assertThat(ok.json().path("json").path("adapters").path("ranks").get(0).asInt())
                .isEqualTo(8);
        // the built-in specs the editors start from are the command line's
        JsonNode defaults = server.get("/console/defaults", server.adminKey()).json();
        assertThat(defaults.path("workload").asText()).contains("study-96-adapters");
        assertThat(defaults.path("deployment").asText()).contains("llama-3.1-8b");
        // without a key or session: refused like any API call
        assertThat(server.get("/console/defaults", null).status()).isEqualTo(401);
    }

    @Test
    void aCapacitySearchIsBoundedAndCheckedWhenSubmitted() {
        // 3 pools x 8 tp x 5 replica counts x 2 slot counts x 2 routers = 480 candidates: refused, naming the field
        String big = """
                {"capacity": {"name": "big", "workload": "workload.yaml", "model": "llama-3.1-8b",
                  "pools": [{"name": "h100", "gpu": "h100-sxm-80gb", "gpus_per_node": 8, "nodes": 8, "cost_per_gpu_hour": 3},
                            {"name": "a100", "gpu": "a100-sxm-80gb", "gpus_per_node": 8, "nodes": 8, "cost_per_gpu_hour": 2},
                            {"name": "l40s", "gpu": "l40s", "gpus_per_node": 4, "nodes": 8, "cost_per_gpu_hour": 1}],
                  "slo": {"ttft_p90_ms": 2000},
                  "search": {"tp": [1, 1, 1, 1, 2, 2, 2, 2], "replicas": [1, 2, 3, 4, 6], "max_adapters": [8, 32],
                             "routers": [{"type": "least_loaded"}, {"type": "cache_aware"}]},
                  "rate": {"target_scale": 4}}}
                """;
        TestServer.Reply r = server.post("/api/capacity-searches", server.adminKey(), big);
        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.error().path("param").asText()).isEqualTo("capacity.search");
        assertThat(r.error().path("message").asText())
                .contains("480 candidates")
                .contains("at most 240");
        TestServer.Reply typo =
                server.post("/api/capacity-searches", server.adminKey(), big.replace("\"search\"", "\"serch\""));
        assertThat(typo.status()).isEqualTo(400);
        assertThat(typo.error().path("param").asText()).startsWith("capacity.");
        TestServer.Reply extra = server.post("/api/capacity-searches", server.adminKey(), "{\"capcity\": {}}");
        assertThat(extra.status()).isEqualTo(400);
        assertThat(extra.error().path("param").asText()).isEqualTo("capcity");
    }

    @Test
    void thePageAndItsFilesNeedNoKeyAndForbidInlineScripts() {
        TestServer.Reply page = server.get("/", null);
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.contentType()).startsWith("text/html");
        assertThat(page.body()).contains("/console/assets/app.js").doesNotContain("<script>");
        assertThat(page.headers().firstValue("Content-Security-Policy").orElseThrow())
                .contains("script-src 'self'");
        assertThat(server.get("/console/assets/app.js", null).status()).isEqualTo(200);
        assertThat(server.get("/console/vendor/chart.umd.min.js", null).body()).contains("Chart");
        assertThat(server.get("/console/assets/..%2F..%2Fapplication.yml", null).status())
                .isEqualTo(404);
    }
}
