package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** Usage per minute of one key, deployment or adapter. */
public record Usage(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "key:ID, deployment:NAME or adapter:DEPLOYMENT:ADAPTER")
        String dimension,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<UsageMinute> minutes) {}
