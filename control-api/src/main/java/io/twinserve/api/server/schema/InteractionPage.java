package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** A page of interactions, oldest first. */
public record InteractionPage(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always list")
        String object,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<InteractionRecord> data,

        @Schema(nullable = true, description = "pass as cursor for the next page; null on the last")
        String nextCursor) {}
