package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** The body of POST /api/compute-pools; any other key is refused with 400 naming it. */
public record ComputePoolCreate(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "letters, digits, ., _ and -, starting with a letter or digit; at most 200")
        String name,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "a GPU profile such as h100-sxm-80gb, or cpu for this server's CPU engine")
        String gpu,

        @Schema(description = "GPUs in the pool, 1 to 1000000 (default 1)")
        Integer gpus,

        @Schema(description = "free text") String description) {}
