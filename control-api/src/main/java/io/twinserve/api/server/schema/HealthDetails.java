package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** What {@code GET /api/health} tells operators. */
public record HealthDetails(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                allowableValues = {"UP", "DEGRADED", "DRAINING"},
                description = "DEGRADED: a dependency does not answer; DRAINING: the server is stopping")
        String status,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) DependencyHealth postgresql,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) DependencyHealth redis,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "interactions waiting to be written")
        int interactionsPending,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "interactions in the spill file, waiting for PostgreSQL")
        long interactionsSpilled,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) int requestsInFlight) {

    /** One dependency: a probe's answer, its circuit breaker, who started it and how often it was restarted. */
    public record DependencyHealth(
            @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "answered a probe within a second")
            boolean reachable,

            @Schema(
                    requiredMode = Schema.RequiredMode.REQUIRED,
                    allowableValues = {"closed", "open", "half_open"})
            String circuitBreaker,

            @Schema(description = "configured, container or embedded")
            String origin,

            @Schema(description = "restarts of an embedded server by the supervisor")
            Integer restarts) {}
}
