package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /api/models: path, profile or both; any other key is refused with 400 naming it. */
public record ModelCreate(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "letters, digits, ., _ and -, starting with a letter or digit; at most 200")
        String name,

        @Schema(description = "a Hugging Face model directory on the server (live deployments)")
        String path,

        @Schema(description = "a model profile such as llama-3.1-8b (simulated deployments)")
        String profile) {}
