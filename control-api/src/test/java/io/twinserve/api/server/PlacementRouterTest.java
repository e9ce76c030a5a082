package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A deployment's {@code placement.router} picks the twin's router for its live requests: a cache-aware
 * deployment serves chat completions and sends a repeated prompt to the replica that already holds its
 * prefix; an unknown router type or placement key is refused with 400 naming what is allowed.
 */
@ExtendWith(TestServer.Extension.class)
class PlacementRouterTest {
    private static TestServer server;
    private static String pool;
    private static String model;
    private static String cacheAware;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        pool = s.unique("router-h100");
        model = s.unique("router-llama8b");
        cacheAware = s.unique("router-cache-aware");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        s.create(
                "/api/deployments",
                "{\"name\": \"" + cacheAware + "\", \"model\": \"" + model + "\", \"time_scale\": 1000,"
                        + " \"placement\": {\"compute_pools\": [\"" + pool
                        + "\"], \"min_replicas\": 4, \"router\": {\"type\": \"cache_aware\"}}}");
    }

    @AfterAll
    static void undeploy() {
        server.delete("/api/deployments/" + cacheAware, server.adminKey());
    }

    private static long[] finishedPerReplica(String deployment) {
        JsonNode replicas = server.get("/api/deployments/" + deployment, server.adminKey())
                .json()
                .get("replicas");
        long[] out = new long[replicas.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = replicas.get(i).get("finished").asLong();
        }
        return out;
    }

    private static String deploymentBody(String name, String placementExtra) {
        return "{\"name\": \"" + name + "\", \"model\": \"" + model + "\", \"placement\": {\"compute_pools\": [\""
                + pool + "\"], " + placementExtra + "}}";
    }

    @Test
    void aCacheAwareDeploymentServesChatCompletionsAndKeepsARepeatedPromptWhereItsPrefixIs() {
        assertThat(server.get("/api/deployments/" + cacheAware, server.adminKey())
                        .json()
                        .at("/placement/router/type")
                        .asText())
                .isEqualTo("cache_aware");
        String conversation = "a long conversation that has gone on for a while ".repeat(40);
        String body = "{\"model\": \"" + cacheAware + "\", \"max_tokens\": 3,"
                + " \"messages\": [{\"role\": \"user\", \"content\": \"" + conversation + "\"}]}";
        long[] before = finishedPerReplica(cacheAware);
        for (int i = 0; i < 4; i++) {
            TestServer.Reply r = server.post("/v1/chat/completions", server.adminKey(), body);
            assertThat(r.status()).as(r.body()).isEqualTo(200);
            assertThat(r.json().at("/choices/0/message/role").asText()).isEqualTo("assistant");
            assertThat(r.json().at("/usage/completion_tokens").asInt()).isEqualTo(3);
        }
        long[] after = finishedPerReplica(cacheAware);
        int used = 0;
        for (int i = 0; i < after.length; i++) {
            long served = after[i] - before[i];
            assertThat(served).as("replica %d", i).isIn(0L, 4L);
            used += served > 0 ? 1 : 0;
        }
        assertThat(used)
                .as("the replica holding the prompt's prefix takes every repeat")
                .isEqualTo(1);
    }

    @Test
    void aDeploymentWithoutARouterGetsSessionAffinity() {
        String name = server.unique("router-default");
        server.create("/api/deployments", deploymentBody(name, "\"min_replicas\": 1"));
        try {
            assertThat(server.get("/api/deployments/" + name, server.adminKey())
                            .json()
                            .at("/placement/router/type")
                            .asText())
                    .isEqualTo("session_affinity");
        } finally {
            server.delete("/api/deployments/" + name, server.adminKey());
        }
    }

    @Test
    void refusesAnUnknownRouterTypeNamingTheValidOnes() {
        TestServer.Reply r = server.post(
                "/api/deployments",
                server.adminKey(),
                deploymentBody(server.unique("router-bad"), "\"router\": {\"type\": \"cache_awre\"}"));

        assertThat(r.status()).as(r.body()).isEqualTo(400);
        String message = r.body();
        assertThat(message)
                .contains("placement.router.type", "cache_awre", "did you mean 'cache_aware'")
                .contains("round_robin", "least_loaded", "session_affinity", "adapter_affinity", "cache_aware");
    }

    @Test
    void refusesAnUnknownPlacementKeyNamingIt() {
        TestServer.Reply r = server.post(
                "/api/deployments",
                server.adminKey(),
                deploymentBody(server.unique("router-typo"), "\"routr\": {\"type\": \"cache_aware\"}"));

        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.body()).contains("'placement.routr' is not a known key", "did you mean 'router'");
    }

    @Test
    void refusesABadRouterSetting() {
        TestServer.Reply r = server.post(
                "/api/deployments",
                server.adminKey(),
                deploymentBody(
                        server.unique("router-slack"),
                        "\"router\": {\"type\": \"adapter_affinity\", \"load_slack\": -1}"));

        assertThat(r.status()).as(r.body()).isEqualTo(400);
        assertThat(r.body()).contains("placement.router.load_slack", "must be >= 0");
    }
}
