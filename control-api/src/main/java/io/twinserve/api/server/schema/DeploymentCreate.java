package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /api/deployments; any other key is refused with 400 naming it. */
public record DeploymentCreate(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "letters, digits, ., _ and -, starting with a letter or digit; no colon")
        String name,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "a registry model's name")
        String model,

        @Schema(
                description = "live (the CPU engine) or simulated (the twin's timing; default)",
                allowableValues = {"live", "simulated"})
        String mode,

        ComputeConfig computeConfig,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) PlacementSpec placement,

        @Schema(
                description =
                        "simulated only: how much faster than the twin's clock the replicas run, 0.001 to 1e9 (default 1)")
        Double timeScale,

        @Schema(description = "keep prompt and completion text in interactions (default false)")
        Boolean retainText) {}
