package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A job in a list: what it is and how it stands, without its request and result. */
public record JobSummary(
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

        @Schema(nullable = true, description = "why it failed")
        String error,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String createdAt,

        @Schema(nullable = true, description = "ISO-8601 time")
        String finishedAt) {}
