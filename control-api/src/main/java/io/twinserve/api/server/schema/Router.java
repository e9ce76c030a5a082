package io.twinserve.api.server.schema;

import io.swagger.v3.oas.annotations.media.Schema;

/** How a deployment picks the replica of each request (the twin's routers, docs/cluster-spec.md). */
public record Router(
        @Schema(
                requiredMode = Schema.RequiredMode.REQUIRED,
                description = "the router (default session_affinity)",
                allowableValues = {"round_robin", "least_loaded", "session_affinity", "adapter_affinity", "cache_aware"
                })
        String type,

        @Schema(
                description =
                        "adapter_affinity only: requests in flight a replica holding the adapter may exceed the least loaded by (default 8)")
        Integer loadSlack) {}
