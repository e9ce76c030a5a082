package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One minute of usage. */
public record UsageMinute(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "epoch minute")
        long minute,

        Long requests,
        Long promptTokens,
        Long completionTokens) {}
