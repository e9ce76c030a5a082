package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** Speculative decoding with a draft model (compute_config.speculative). */
public record Speculative(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "tokens the draft proposes per step, 1 to 8")
        int numDraftSteps,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "a model profile name or a config.json path")
        String draftModel,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "the probability that the target accepts a draft token, in (0, 1)")
        double acceptanceRate) {}
