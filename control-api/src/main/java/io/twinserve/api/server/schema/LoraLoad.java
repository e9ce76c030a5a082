package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /v1/load_lora_adapter (vLLM's). */
public record LoraLoad(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "the adapter's name")
        String loraName,

        @Schema(description = "a PEFT adapter directory on the server")
        String loraPath,

        @Schema(description = "a profile-only adapter's rank (simulated)")
        Integer rank,

        @Schema(description = "the deployment, when there are several")
        String model) {}
