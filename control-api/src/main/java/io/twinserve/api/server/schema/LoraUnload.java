package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /v1/unload_lora_adapter (vLLM's). */
public record LoraUnload(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) String loraName,

        @Schema(description = "the deployment, when there are several")
        String model) {}
