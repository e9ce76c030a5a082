package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One server instance's report of a deployment. */
public record InstanceState(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the instance's id (new at each start)")
        String instance,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the machine it runs on")
        String host,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"serving", "failed"})
        String state,

        @Schema(description = "failed: why it could not start there")
        String error,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "ISO-8601 time it entered this state")
        String since) {}
