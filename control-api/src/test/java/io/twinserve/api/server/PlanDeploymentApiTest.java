package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * {@code POST /api/plans} with a {@code deployment}, as {@code twinserve plan --deployment}: the deployment's model
 * is the plan's, its replica settings are named where they differ from the training grid's, and a deployment the
 * placement model cannot plan for (a GPU it never saw, another base model) or an unknown objective is refused at
 * submission with the field named.
 */
@ExtendWith(TestServer.Extension.class)
class PlanDeploymentApiTest {
    private static TestServer server;

    @BeforeAll
    static void connect(TestServer s) {
        server = s;
    }

    private static String deployment(String model, String gpu, boolean prefixCaching) {
        return "{\"model\": \"" + model + "\", \"gpu\": \"" + gpu + "\", \"replica\": {\"max_num_seqs\": 2048,"
                + " \"max_num_batched_tokens\": 2048, \"prefix_caching\": " + prefixCaching + "}"
                + (gpu.equals("h100-64gb")
                        ? ", \"perf_model\": {\"type\": \"roofline\", \"calibration\": \"vllm-0.8.5-h100-64gb/" + model
                                + "\"}}"
                        : "}");
    }

    @Test
    void aPlanTakesTheDeploymentsModelAndNamesWhereItsSettingsDiffer() {
        TestServer.Reply r = server.post(
                "/api/plans",
                server.adminKey(),
                "{\"deployment\": " + deployment("qwen2.5-7b", "h100-64gb", true) + "}");
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String job = r.json().get("id").asText();
        server.get("/api/jobs/" + job + "/events", server.adminKey());
        JsonNode done = server.get("/api/plans/" + job, server.adminKey()).json();
        assertThat(done.get("status").asText()).as(done.toString()).isEqualTo("succeeded");
        JsonNode result = done.get("result");
        assertThat(result.at("/plan/model").asText()).isEqualTo("qwen2.5-7b");
        assertThat(result.get("deployment").asText()).isEqualTo("the deployment");
        assertThat(result.get("notes").toString())
                .contains("the deployment differs from the settings the trees were trained with: prefix_caching true"
                        + " (trained false)");
        // the notes name the API's way to ask for the verification, not the command line's
        assertThat(result.get("notes").toString())
                .contains("add \\\"verify\\\": true")
                .doesNotContain("--verify");
    }

    @Test
    void aDeploymentThePlacementModelCannotPlanForIsRefusedAtSubmission() {
        TestServer.Reply l4 = server.post(
                "/api/plans", server.adminKey(), "{\"deployment\": " + deployment("llama-3.1-8b", "l4", false) + "}");
        assertThat(l4.status()).as(l4.body()).isEqualTo(400);
        assertThat(l4.json().at("/error/param").asText()).isEqualTo("deployment");
        assertThat(l4.json().at("/error/message").asText())
                .contains("runs on GPU l4, but the placement model (the built-in model) was trained for llama-3.1-8b on"
                        + " pool h100-64gb");
        // Llama's other GPUs are Llama's: a Qwen deployment on an H200 is refused the same way
        TestServer.Reply qwen = server.post(
                "/api/plans", server.adminKey(), "{\"deployment\": " + deployment("qwen2.5-7b", "h200", false) + "}");
        assertThat(qwen.status()).as(qwen.body()).isEqualTo(400);
        assertThat(qwen.json().at("/error/message").asText())
                .contains("runs on GPU h200, but the placement model (the built-in model) was trained for qwen2.5-7b on"
                        + " pool h100-64gb (GPU h100-64gb);");

        TestServer.Reply model = server.post(
                "/api/plans",
                server.adminKey(),
                "{\"base_model\": \"llama-3.1-8b\", \"deployment\": " + deployment("qwen2.5-7b", "h100-64gb", false)
                        + "}");
        assertThat(model.status()).as(model.body()).isEqualTo(400);
        assertThat(model.json().at("/error/param").asText()).isEqualTo("base_model");
        assertThat(model.json().at("/error/message").asText())
                .contains("the plan asks for llama-3.1-8b, but the deployment serves qwen2.5-7b");

        TestServer.Reply pools = server.post(
                "/api/plans",
                server.adminKey(),
                "{\"pools\": [\"tpu\"], \"deployment\": " + deployment("llama-3.1-8b", "h100-64gb", false) + "}");
        assertThat(pools.status()).as(pools.body()).isEqualTo(400);
        assertThat(pools.json().at("/error/param").asText()).isEqualTo("pools");
        assertThat(pools.json().at("/error/message").asText())
                .contains("pools: tpu is not among the placement model's");

        TestServer.Reply objective = server.post("/api/plans", server.adminKey(), "{\"objective\": \"fastest\"}");
        assertThat(objective.status()).as(objective.body()).isEqualTo(400);
        assertThat(objective.json().at("/error/param").asText()).isEqualTo("objective");
        assertThat(objective.json().at("/error/message").asText())
                .contains("objective must be throughput-per-gpu or cost, got 'fastest'");
    }
}
