package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** A model as /v1/models lists it: <deployment> or <deployment>:<adapter>. */
public record OpenAiModel(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String id,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always model")
        String object,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "epoch seconds")
        long created,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String ownedBy,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the deployment")
        String root,

        @Schema(nullable = true, description = "the deployment, for an adapter")
        String parent,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"live", "simulated"})
        String mode) {}
