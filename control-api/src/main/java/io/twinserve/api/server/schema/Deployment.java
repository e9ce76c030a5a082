package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A deployment; GET /api/deployments/{id} adds its running replicas and loaded adapters. */
public record Deployment(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long id,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String name,
        @Schema(nullable = true) String model,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"live", "simulated"})
        String mode,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "as given")
        ComputeConfig computeConfig,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "with defaults filled in")
        Placement placement,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) double timeScale,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) boolean retainText,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "running; reconfiguring while an instance starts a new configuration (the others keep"
                        + " the one they run until it serves); failed; on one instance, failed when it could not start"
                        + " there (with error)")
        String status,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time")
        String createdAt,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "ISO-8601 time its configuration (compute config, placement) last changed: the"
                        + " configuration's version, which a status change does not move")
        String updatedAt,

        @Schema(description = "GET /api/deployments/{id} only, while it runs")
        List<ReplicaStatus> replicas,

        @Schema(description = "GET /api/deployments/{id} only: adapters loaded")
        List<String> adapters,

        @Schema(
                description = "each server instance's own report: where the deployment serves, and why it could not"
                        + " start where it failed (empty when Redis cannot be read; an instance that stopped drops out"
                        + " within three reconciliations)")
        List<InstanceState> instances) {}
