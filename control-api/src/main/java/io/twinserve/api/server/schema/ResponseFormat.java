package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The answer's format; only text (the default) is served. */
public record ResponseFormat(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"text"})
        String type) {}
