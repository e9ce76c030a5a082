package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The operator's side: vLLM's adapter loading, applying a plan to a deployment, Prometheus metrics, usage
 * in Redis and the OpenAPI document.
 */
@ExtendWith(TestServer.Extension.class)
class OperationsTest {
    private static TestServer server;
    private static String deployment;
    private static String pool;
    private static String model;

    @BeforeAll
    static void deploy(TestServer s) {
        server = s;
        deployment = s.unique("ops");
        pool = s.unique("ops-h100");
        model = s.unique("ops-llama8b");
        s.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        s.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
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

    private static TestServer.Reply complete(String modelId) {
        return server.post(
                "/v1/completions",
                server.adminKey(),
                "{\"model\": \"" + modelId + "\", \"prompt\": \"hello\", \"max_tokens\": 3}");
    }

    @Test
    void loadAndUnloadLoraAdapterAsInVllm() {
        String id = deployment + ":dyn";
        assertThat(complete(id).status()).isEqualTo(404);
        // a rank above the deployment's max_adapter_rank (16) is refused, and leaves nothing behind
        TestServer.Reply tooBig = server.post(
                "/v1/load_lora_adapter",
                server.adminKey(),
                "{\"lora_name\": \"dyn\", \"rank\": 32, \"model\": \"" + deployment + "\"}");
        assertThat(tooBig.status()).as(tooBig.body()).isEqualTo(400);
        assertThat(tooBig.body()).contains("max_adapter_rank 16");
        assertThat(server.get("/api/models/" + model + "/adapters", server.adminKey())
                        .body())
                .doesNotContain("\"dyn\"");
        TestServer.Reply load = server.post(
                "/v1/load_lora_adapter",
                server.adminKey(),
                "{\"lora_name\": \"dyn\", \"rank\": 16, \"model\": \"" + deployment + "\"}");
        assertThat(load.status()).as(load.body()).isEqualTo(200);
        assertThat(load.body()).contains("dyn");
        assertThat(server.get("/v1/models", server.adminKey()).body()).contains("\"" + id + "\"");
        TestServer.Reply served = complete(id);
        assertThat(served.status()).as(served.body()).isEqualTo(200);
        assertThat(served.json().path("usage").path("completion_tokens").asInt())
                .isEqualTo(3);
        TestServer.Reply unload = server.post(
                "/v1/unload_lora_adapter",
                server.adminKey(),
                "{\"lora_name\": \"dyn\", \"model\": \"" + deployment + "\"}");
        assertThat(unload.status()).as(unload.body()).isEqualTo(200);
        assertThat(complete(id).status()).isEqualTo(404);
        // the name can be loaded again
        assertThat(server.post(
                                "/v1/load_lora_adapter",
                                server.adminKey(),
                                "{\"lora_name\": \"dyn\", \"rank\": 8, \"model\": \"" + deployment + "\"}")
                        .status())
                .isEqualTo(200);
        assertThat(complete(id).status()).isEqualTo(200);
    }

    @Test
    void aClientThatLeavesAStreamCancelsItsRequest() throws Exception {
        String slow = server.unique("ops-slow");
        server.create(
                "/api/deployments",
                "{\"name\": \"" + slow + "\", \"model\": \"" + model + "\"," + " \"placement\": {\"compute_pools\": [\""
                        + pool + "\"]}, \"time_scale\": 1}");
        try {
            JsonNode created = server.createKey(server.unique("ops-leaver"), "operator");
            String key = created.path("key").asText();
            long keyId = created.path("id").asLong();
            HttpRequest request = HttpRequest.newBuilder(server.uri().resolve("/v1/completions"))
                    .header("Authorization", "Bearer " + key)
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"" + slow + "\", \"prompt\": \"go\","
                            + " \"max_tokens\": 1000, \"stream\": true}"))
                    .build();
            var response = HttpClient.newHttpClient().send(request, HttpResponse.BodyHandlers.ofInputStream());
            assertThat(response.statusCode()).isEqualTo(200);
            try (var in = new BufferedReader(new InputStreamReader(response.body()))) {
                assertThat(in.readLine()).startsWith("data: ");
            }
            // at real speed the 1,000 tokens take seconds: the row says cancelled, with far fewer tokens
            long rows = 0;
            for (int i = 0; i < 600 && rows == 0; i++) {
                server.flushInteractions();
                rows = server.count(
                        "select count(*) from interactions where key_id = ? and status = 499"
                                + " and finish_reason = 'cancelled' and completion_tokens < 1000",
                        keyId);
                if (rows == 0) {
                    Thread.sleep(100);
                }
            }
            assertThat(rows).isEqualTo(1);
        } finally {
            server.delete("/api/deployments/" + slow, server.adminKey());
        }
    }

    @Test
    void autoconfigureAppliesAPlanJob() throws Exception {
        TestServer.Reply submitted = server.post("/api/plans", server.adminKey(), "{}");
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String job = submitted.json().get("id").asText();
        // the events stream ends with the job
        server.get("/api/jobs/" + job + "/events", server.adminKey());
        JsonNode done = server.get("/api/plans/" + job, server.adminKey()).json();
        assertThat(done.get("status").asText()).isEqualTo("succeeded");
        JsonNode plan = done.get("result").get("plan");
        TestServer.Reply applied = server.post(
                "/api/deployments/" + deployment + "/autoconfigure",
                server.adminKey(),
                "{\"plan\": \"" + job + "\", \"compute_pools\": [\"" + pool + "\"]}");
        assertThat(applied.status()).as(applied.body()).isEqualTo(200);
        JsonNode cc = applied.json().get("compute_config");
        assertThat(cc.get("max_adapters").asInt())
                .isEqualTo(plan.get("max_adapters").asInt());
        assertThat(cc.get("tp").asInt()).isEqualTo(plan.get("tp").asInt());
        assertThat(applied.json().get("status").asText()).isEqualTo("running");
        assertThat(complete(deployment).status()).isEqualTo(200);
    }

    /**
     * The study's workload shape with 384 adapters (the built-in what-if workload's, four times the adapters), as a
     * JSON workload spec.
     */
    static final String STUDY_384 =
            "{\"name\": \"study-384\", \"seed\": 42, \"duration_s\": 3600, \"arrivals\": {\"type\":"
                    + " \"poisson\", \"rate_tiers\": [0.2, 0.1, 0.05]}, \"adapters\": {\"count\": 384, \"ranks\": [8, 16,"
                    + " 32]}, \"lengths\": {\"prompt\": {\"type\": \"lognormal\", \"mean\": 223.5, \"std\": 250},"
                    + " \"output\": {\"type\": \"lognormal\", \"mean\": 195.7, \"std\": 180}, \"min_prompt\": 4,"
                    + " \"max_prompt\": 1024, \"min_output\": 4, \"max_total\": 2048}}";

    /** Submits a plan job with {@code body}, waits for it to end, checks it succeeded and returns its id. */
    static String planJob(TestServer s, String body) {
        TestServer.Reply submitted = s.post("/api/plans", s.adminKey(), body);
        assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
        String job = submitted.json().get("id").asText();
        // the events stream ends with the job
        s.get("/api/jobs/" + job + "/events", s.adminKey());
        JsonNode done = s.get("/api/plans/" + job, s.adminKey()).json();
        assertThat(done.get("status").asText()).as(done.toPrettyString()).isEqualTo("succeeded");
        return job;
    }

    /** A simulated deployment of this class's model on its pool, for a test that reconfigures it. */
    private static String ownDeployment(String prefix) {
        String name = server.unique(prefix);
        server.create(
                "/api/deployments",
                "{\"name\": \"" + name + "\", \"model\": \"" + model + "\", \"compute_config\": {\"max_adapters\": 2},"
                        + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}}");
        return name;
    }

    @Test
    void autoconfigureAppliesAVerifiedPlansAnswerNotTheTreesConfiguration() throws Exception {
        // the study's shape with 384 adapters on an H200: the trees plan tp 2, whose run misses the SLO; the twin's
        // searches correct it and find more adapters per GPU at tp 1 (plan --pools h200 --feature adapters=384)
        String job = planJob(server, "{\"workload\": " + STUDY_384 + ", \"pools\": [\"h200\"], \"verify\": true}");
        JsonNode result =
                server.get("/api/plans/" + job, server.adminKey()).json().get("result");
        JsonNode plan = result.get("plan");
        JsonNode answer = result.get("answer");
        assertThat(result.get("answer_source").asText())
                .as(result.toPrettyString())
                .isNotEqualTo("plan");
        assertThat(answer.get("max_adapters").asInt()
                                != plan.get("max_adapters").asInt()
                        || answer.get("tp").asInt() != plan.get("tp").asInt())
                .as("the answer is another configuration than the trees'")
                .isTrue();
        assertThat(answer.get("predicted_meets_slo").asBoolean()).isTrue();
        // a deployment of its own: the answer's slots of rank 32 would change the shared one's
        String target = ownDeployment("ops-answer");
        try {
            TestServer.Reply applied = server.post(
                    "/api/deployments/" + target + "/autoconfigure",
                    server.adminKey(),
                    "{\"plan\": \"" + job + "\", \"compute_pools\": [\"" + pool + "\"]}");
            assertThat(applied.status()).as(applied.body()).isEqualTo(200);
            JsonNode cc = applied.json().get("compute_config");
            assertThat(cc.get("max_adapters").asInt())
                    .isEqualTo(answer.get("max_adapters").asInt());
            assertThat(cc.get("tp").asInt()).isEqualTo(answer.get("tp").asInt());
            assertThat(applied.json().get("status").asText()).isEqualTo("running");
            // the answer's replicas for the workload's 384 adapters, and the twin's throughput for it
            assertThat(answer.get("replicas").asInt())
                    .isEqualTo((384 + answer.get("served_per_gpu").asInt() - 1)
                            / answer.get("served_per_gpu").asInt());
            assertThat(answer.get("throughput_tps").asDouble())
                    .isNotEqualTo(plan.get("throughput_tps").asDouble());
        } finally {
            server.delete("/api/deployments/" + target, server.adminKey());
        }
    }

    @Test
    void autoconfigureRefusesAVerifiedPlanTheTwinFoundNothingForUnlessForced() throws Exception {
        // a TTFT p90 bound of 1 ms: no configuration meets it, so the verification's search finds none
        String workload = STUDY_384
                .replace("\"count\": 384", "\"count\": 96")
                .replaceFirst("\\}$", ", \"slo\": {\"ttft_p90_ms\": 1}}");
        // a search budget of 3 runs, as plan --search-budget 3; more than 64 is refused, naming the field
        TestServer.Reply tooMany = server.post(
                "/api/plans",
                server.adminKey(),
                "{\"workload\": " + workload + ", \"verify\": true, \"search_budget\": 65}");
        assertThat(tooMany.status()).as(tooMany.body()).isEqualTo(400);
        assertThat(tooMany.error().path("param").asText()).isEqualTo("search_budget");
        assertThat(tooMany.error().path("message").asText()).contains("must be between 0 and 64, got 65");
        String job = planJob(server, "{\"workload\": " + workload + ", \"verify\": true, \"search_budget\": 3}");
        JsonNode result =
                server.get("/api/plans/" + job, server.adminKey()).json().get("result");
        assertThat(result.get("search").size() + result.get("search_up").size()).isEqualTo(3);
        assertThat(result.get("search_ended").asText()).isEqualTo("budget");
        assertThat(result.get("answer_source").asText())
                .as(result.toPrettyString())
                .isEqualTo("none");
        assertThat(result.get("answer").isNull()).isTrue();
        String target = ownDeployment("ops-refused");
        try {
            String path = "/api/deployments/" + target + "/autoconfigure";
            TestServer.Reply refused = server.post(
                    path, server.adminKey(), "{\"plan\": \"" + job + "\", \"compute_pools\": [\"" + pool + "\"]}");
            assertThat(refused.status()).as(refused.body()).isEqualTo(422);
            assertThat(refused.error().path("code").asText()).isEqualTo("plan_misses_slo");
            assertThat(refused.error().path("message").asText())
                    .contains("missed the SLO")
                    .contains("\"force\": true");
            assertThat(server.get("/api/deployments/" + target, server.adminKey())
                            .json()
                            .path("compute_config")
                            .path("max_adapters")
                            .asInt())
                    .as("nothing applied")
                    .isEqualTo(2);
            TestServer.Reply notBoolean = server.post(
                    path,
                    server.adminKey(),
                    "{\"plan\": \"" + job + "\", \"compute_pools\": [\"" + pool + "\"], \"force\": \"yes\"}");
            assertThat(notBoolean.status()).as(notBoolean.body()).isEqualTo(400);
            assertThat(notBoolean.error().path("message").asText())
                    .isEqualTo("'force' must be true or false, got \"yes\"");
            TestServer.Reply forced = server.post(
                    path,
                    server.adminKey(),
                    "{\"plan\": \"" + job + "\", \"compute_pools\": [\"" + pool + "\"], \"force\": true}");
            assertThat(forced.status()).as(forced.body()).isEqualTo(200);
            assertThat(forced.json().path("compute_config").path("max_adapters").asInt())
                    .isEqualTo(result.path("plan").path("max_adapters").asInt());
        } finally {
            server.delete("/api/deployments/" + target, server.adminKey());
        }
    }

    @Test
    void autoconfigureKeepsTheSlotRankOfTheAdaptersTheDeploymentServes() throws Exception {
        String wide = server.unique("ops-wide");
        String wideModel = server.unique("ops-wide-llama8b");
        server.create("/api/models", "{\"name\": \"" + wideModel + "\", \"profile\": \"llama-3.1-8b\"}");
        server.create("/api/models/" + wideModel + "/adapters", "{\"name\": \"big\", \"rank\": 64}");
        server.create(
                "/api/deployments",
                "{\"name\": \"" + wide + "\", \"model\": \"" + wideModel + "\","
                        + " \"compute_config\": {\"max_adapters\": 2, \"max_adapter_rank\": 64},"
                        + " \"placement\": {\"compute_pools\": [\"" + pool + "\"]}, \"time_scale\": 1000}");
        try {
            assertThat(complete(wide + ":big").status()).isEqualTo(200);
            // the built-in workload's plan: its adapters' ranks go up to 32
            TestServer.Reply submitted = server.post("/api/plans", server.adminKey(), "{}");
            assertThat(submitted.status()).as(submitted.body()).isEqualTo(202);
            String job = submitted.json().get("id").asText();
            server.get("/api/jobs/" + job + "/events", server.adminKey());
            TestServer.Reply applied = server.post(
                    "/api/deployments/" + wide + "/autoconfigure",
                    server.adminKey(),
                    "{\"plan\": \"" + job + "\", \"compute_pools\": [\"" + pool + "\"]}");
            assertThat(applied.status()).as(applied.body()).isEqualTo(200);
            // not lowered to the plan's 32, which would drop the rank-64 adapter without a word
            assertThat(applied.json().at("/compute_config/max_adapter_rank").asInt())
                    .isEqualTo(64);
            assertThat(complete(wide + ":big").status()).isEqualTo(200);
        } finally {
            server.delete("/api/deployments/" + wide, server.adminKey());
        }
    }

    @Test
    void autoconfigureReadsAHandMadePlanAsThePlannersRecordAndRefusesOneItCannotRead() throws Exception {
        String path = "/api/deployments/" + deployment + "/autoconfigure";
        TestServer.Reply missing = server.post(path, server.adminKey(), "{\"plan\": {\"max_adapters\": 4, \"tp\": 1}}");
        assertThat(missing.status()).as(missing.body()).isEqualTo(400);
        assertThat(missing.body()).contains("kv_cache_len");
        TestServer.Reply unreadable = server.post(
                path,
                server.adminKey(),
                "{\"plan\": {\"max_adapters\": 4, \"tp\": 1, \"kv_cache_len\": 0, \"replicas\": \"many\"}}");
        assertThat(unreadable.status()).as(unreadable.body()).isEqualTo(400);
        assertThat(unreadable.body()).contains("plan").contains("could not be read");
        // the deployment's own settings, as a plan object: applied, and the deployment still serves
        JsonNode cc = server.get("/api/deployments/" + deployment, server.adminKey())
                .json()
                .get("compute_config");
        String same = "{\"plan\": {\"max_adapters\": " + cc.get("max_adapters").asInt() + ", \"tp\": "
                + cc.path("tp").asInt(1) + ", \"kv_cache_len\": "
                + cc.path("kv_cache_len").asInt(0)
                + ", \"pool\": \"" + pool + "\"}}";
        TestServer.Reply applied = server.post(path, server.adminKey(), same);
        assertThat(applied.status()).as(applied.body()).isEqualTo(200);
        assertThat(applied.json().get("compute_config").get("max_adapters").asInt())
                .isEqualTo(cc.get("max_adapters").asInt());
        assertThat(complete(deployment).status()).isEqualTo(200);
    }

    @Test
    void metricsUsageAndOpenApiDocument() throws Exception {
        server.post(
                "/v1/load_lora_adapter",
                server.adminKey(),
                "{\"lora_name\": \"metered\", \"rank\": 16, \"model\": \"" + deployment + "\"}");
        assertThat(complete(deployment + ":metered").status()).isEqualTo(200);
        TestServer.Reply usage = server.get("/api/usage?deployment=" + deployment, server.adminKey());
        assertThat(usage.status()).as(usage.body()).isEqualTo(200);
        assertThat(usage.json().get("minutes").get(0).get("requests").asLong()).isPositive();
        String metrics = server.get("/metrics", server.adminKey()).body();
        assertThat(metrics)
                .contains("twinserve_requests_total{deployment=\"" + deployment + "\",status=\"200\"}")
                .contains("twinserve_ttft_seconds_bucket{deployment=\"" + deployment + "\"")
                .contains("twinserve_inter_token_latency_seconds_bucket{deployment=\"" + deployment + "\"")
                .contains("twinserve_interactions_pending");
        // the per-replica gauges refresh every second: wait for the adapter's residency to show
        String resident = "twinserve_adapter_resident{adapter=\"metered\",deployment=\"" + deployment + "\"";
        for (int i = 0;
                i < 300 && !server.get("/metrics", server.adminKey()).body().contains(resident);
                i++) {
            Thread.sleep(100);
        }
        assertThat(server.get("/metrics", server.adminKey()).body())
                .contains(resident)
                .contains("twinserve_queue_waiting{deployment=\"" + deployment + "\",replica=\"0\"}");
        TestServer.Reply doc = server.get("/openapi/twinserve-0.1.yml", null);
        assertThat(doc.status()).isEqualTo(200);
        assertThat(doc.body()).contains("/v1/chat/completions").contains("/api/deployments/{id}/autoconfigure");
    }
}
