package io.twinserve.api.server.interactions;

import java.time.OffsetDateTime;

/** One served inference call, as recorded in the interactions table. */
public record Interaction(
        String requestId,
        String endpoint,
        String deployment,
        String adapter,
        Long keyId,
        int promptTokens,
        int completionTokens,
        Double ttftMs,
        double latencyMs,
        int status,
        String finishReason,
        OffsetDateTime startedAt,
        OffsetDateTime finishedAt,
        String promptText,
        String completionText) {}
