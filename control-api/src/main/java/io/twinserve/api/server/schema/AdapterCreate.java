package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /api/models/{model}/adapters: path or rank; any other key is refused with 400 naming it. */
public record AdapterCreate(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "letters, digits, ., _ and -, starting with a letter or digit; at most 200")
        String name,

        @Schema(description = "a PEFT adapter directory on the server")
        String path,

        @Schema(
                description =
                        "the LoRA rank of a profile-only adapter (simulated deployments); checked against adapter_config.json when path is given")
        Integer rank) {}
