package io.twinserve.api.server.usage;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.QueryValue;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.server.ApiErrors;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.schema.Usage;
import java.util.List;
import java.util.Map;

/**
 * Usage per minute from Redis: {@code /api/usage?deployment=NAME}, {@code ?adapter=DEPLOYMENT:ADAPTER},
 * {@code ?key=ID}, or the caller's own key by default; {@code minutes} (default 60) back from now. Other
 * keys' usage needs the operator role.
 */
@Controller("/api/usage")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "usage")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
@ApiErrors.Unavailable
public final class UsageController {
    private final UsageStats usage;

    public UsageController(UsageStats usage) {
        this.usage = usage;
    }

    @Operation(
            operationId = "getUsage",
            summary = "Usage per minute of the caller's key, or (operator) of any key, deployment or adapter")
    @ApiResponse(
            responseCode = "200",
            description = "usage",
            content = @Content(schema = @Schema(implementation = Usage.class)))
    @ApiErrors.BadRequest
    @ApiErrors.Forbidden
    @Get
    public Map<String, Object> usage(
            HttpRequest<?> request,
            @Nullable @QueryValue String deployment,
            @Nullable @QueryValue String adapter,
            @Nullable @QueryValue Long key,
            @Nullable @QueryValue Integer minutes)
            throws Exception {
        Principal p = AuthFilter.principal(request);
        int span = minutes == null ? 60 : minutes;
        if (span < 1 || span > 7 * 24 * 60) {
            throw ApiException.badRequest(
                    "minutes", "'minutes' must be between 1 and " + 7 * 24 * 60 + ", got " + span);
        }
        String dimension;
        if (deployment != null) {
            AuthFilter.require(request, Role.OPERATOR);
            dimension = "deployment:" + deployment;
        } else if (adapter != null) {
            AuthFilter.require(request, Role.OPERATOR);
            if (!adapter.contains(":")) {
                throw ApiException.badRequest("adapter", "'adapter' must be DEPLOYMENT:ADAPTER, got '" + adapter + "'");
            }
            dimension = "adapter:" + adapter;
        } else if (key != null && key != p.keyId()) {
            AuthFilter.require(request, Role.OPERATOR);
            dimension = "key:" + key;
        } else {
            dimension = "key:" + p.keyId();
        }
        List<Map<String, Object>> rows = usage.read(dimension, span);
        return Map.of("dimension", dimension, "minutes", rows);
    }
}
