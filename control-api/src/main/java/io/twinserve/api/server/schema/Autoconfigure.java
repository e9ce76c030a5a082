package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** The body of POST /api/deployments/{id}/autoconfigure. */
public record Autoconfigure(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description =
                        "a finished plan job's id (a verified job applies its answer: the plan, or the configuration"
                                + " the twin's searches found instead), or a plan object with max_adapters, tp,"
                                + " kv_cache_len (and pool, replicas)")
        Object plan,

        @Schema(description = "registry pools to use when the plan's pool has another name")
        List<String> computePools,

        @Schema(
                description = "apply a verified plan job's plan although the twin found no configuration that meets"
                        + " its SLO (refused with 422 plan_misses_slo otherwise)")
        Boolean force) {}
