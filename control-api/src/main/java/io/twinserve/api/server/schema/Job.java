package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.Map;

/** A what-if simulation or a plan, queued, running or finished. */
public record Job(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String id,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"simulation", "plan", "capacity"})
        String kind,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"queued", "running", "succeeded", "failed", "cancelled"})
        String status,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "0 to 1")
        double progress,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "runs started (a job running at a restart runs again)")
        int attempts,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the body it was submitted with")
        Map<String, Object> request,

        @Schema(nullable = true, description = "the what-if or plan JSON once it succeeded")
        Map<String, Object> result,

        @Schema(nullable = true, description = "why it failed, a sentence its owner can act on")
        String error,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String createdAt,

        @Schema(nullable = true, description = "ISO-8601 time")
        String startedAt,

        @Schema(nullable = true, description = "ISO-8601 time")
        String finishedAt,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the path of its server-sent events")
        String events) {}
