package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;
import java.util.List;

/** The models a key may use. */
public record ModelList(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "always list")
        String object,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) List<OpenAiModel> data) {}
