package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** OpenAI's error JSON, the body of every 4xx and 5xx the API answers ({@code ApiException}). */
public record ErrorResponse(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) ErrorDetail error) {}
