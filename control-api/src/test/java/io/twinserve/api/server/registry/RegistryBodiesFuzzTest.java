package io.twinserve.api.server.registry;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import java.util.List;

/**
 * Coverage-guided fuzzing of registry request bodies as {@code POST /api/deployments} reads them before it
 * touches the database: the body as JSON ({@link Bodies#object}), its keys ({@link Bodies#onlyKeys}), its
 * {@code compute_config} ({@link RegistryService#replicaSpec}) and its {@code placement}
 * ({@link Placement#parse}, every pool name taken as registered). Each either parses or is refused with a
 * 400 {@link ApiException} whose message is a sentence; anything else would be a 500 and is a crash.
 */
class RegistryBodiesFuzzTest {
    private static final List<String> DEPLOYMENT_KEYS =
            List.of("name", "model", "mode", "time_scale", "retain_text", "compute_config", "placement");

    @FuzzTest(maxDuration = "10s")
    void parsesOrRefusesWith400NamingTheField(byte[] body) {
        try {
            ObjectNode json = Bodies.object(body);
            Bodies.onlyKeys(json, "a deployment", DEPLOYMENT_KEYS);
            JsonNode cc = json.get("compute_config");
            if (cc instanceof ObjectNode computeConfig) {
                assertThat(RegistryService.replicaSpec(computeConfig)).isNotNull();
            }
            Placement placement = Placement.parse(json.get("placement"), pool -> {});
            assertThat(placement.computePools()).isNotEmpty();
            assertThat(placement.maxReplicas()).isGreaterThanOrEqualTo(placement.minReplicas());
            // what is stored reads back as the same placement
            assertThat(Placement.parse(Bodies.JSON.valueToTree(placement.toMap()), pool -> {}))
                    .isEqualTo(placement);
        } catch (ApiException e) {
            assertThat(e.status().getCode()).isEqualTo(400);
            assertThat(e.getMessage()).isNotBlank();
            if (e.param() != null) {
                assertThat(e.getMessage()).as("the message names the field").contains(lastPart(e.param()));
            }
        }
    }

    private static String lastPart(String param) {
        return param.substring(param.lastIndexOf('.') + 1);
    }
}
