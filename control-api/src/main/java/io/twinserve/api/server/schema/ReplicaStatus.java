package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** One running replica of a deployment, as GET /api/deployments/{id} shows it. */
public record ReplicaStatus(
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "its index")
        int replica,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "serving; restarting: its loop stopped after an error (a device fault), it is routed"
                        + " nothing and a restart is waiting or under way (compute_config.restart); failed: the same"
                        + " with no restart left",
                allowableValues = {"serving", "restarting", "failed"})
        String state,

        @Schema(
                nullable = true,
                description = "why a failed or restarting replica stopped, and why its last restart failed if one did"
                        + " (absent while it serves)")
        String error,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "restarts begun after failures; a restarted replica's counters start again from 0")
        int restarts,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "requests in flight")
        int inFlight,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long steps,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long generatedTokens,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long preemptions,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long finished,
        @Schema(requiredMode = Schema.RequiredMode.REQUIRED) long timedOut,

        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "requests waiting to be scheduled (the queue)")
        int waiting,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "requests in the running batch")
        int running,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "adapters in GPU slots (the engine's)")
        java.util.List<String> adaptersInSlots,

        @Schema(requiredMode = Schema.RequiredMode.REQUIRED, description = "adapters kept in host memory")
        java.util.List<String> adaptersInHost) {}
