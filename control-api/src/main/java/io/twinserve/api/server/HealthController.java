package io.twinserve.api.server;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.scheduling.TaskExecutors;
import io.micronaut.scheduling.annotation.ExecuteOn;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.infra.DataServices;
import io.twinserve.api.server.infra.Dependencies;
import io.twinserve.api.server.infra.Redis;
import io.twinserve.api.server.interactions.InteractionWriter;
import io.twinserve.api.server.lifecycle.Drain;
import io.twinserve.api.server.schema.HealthDetails;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.jooq.DSLContext;

/**
 * {@code GET /api/health}: the details {@code /health} keeps to itself, for operators: each dependency's
 * reachability (one probe each, a second at most), its circuit breaker, who started it and how often the
 * supervisor restarted it, and what waits to be written.
 */
@Controller("/api/health")
@ExecuteOn(TaskExecutors.BLOCKING)
@Tag(name = "operations")
@SecurityRequirement(name = "bearer")
@ApiErrors.Unauthorized
@ApiErrors.ServerError
public final class HealthController {
    private final DSLContext db;
    private final Redis redis;
    private final Dependencies dependencies;
    private final InteractionWriter interactions;
    private final Drain drain;
    private final DataServices services;

    public HealthController(
            DSLContext db,
            Redis redis,
            Dependencies dependencies,
            InteractionWriter interactions,
            Drain drain,
            @Nullable DataServices services) {
        this.db = db;
        this.redis = redis;
        this.dependencies = dependencies;
        this.interactions = interactions;
        this.drain = drain;
        this.services = services;
    }

    @Operation(
            operationId = "getHealthDetails",
            summary = "Each dependency's reachability, circuit breaker and restarts, and what waits to be written")
    @ApiResponse(
            responseCode = "200",
            description = "the details",
            content = @Content(schema = @Schema(implementation = HealthDetails.class)))
    @ApiErrors.Forbidden
    @Get
    public Map<String, Object> details(HttpRequest<?> request) {
        AuthFilter.require(request, Role.OPERATOR);
        Map<String, Object> pg = new LinkedHashMap<>();
        pg.put("reachable", probe(() -> db.selectOne().fetchOne() != null));
        pg.put("circuit_breaker", dependencies.databaseState());
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("reachable", probe(() -> "PONG".equals(redis.async().ping().get(1, TimeUnit.SECONDS))));
        r.put("circuit_breaker", dependencies.redisState());
        if (services != null) {
            pg.put("origin", services.database().origin());
            pg.put("restarts", services.postgresRestarts());
            r.put("origin", services.redisOrigin());
            r.put("restarts", services.redisRestarts());
        }
        Map<String, Object> out = new LinkedHashMap<>();
        boolean up = Boolean.TRUE.equals(pg.get("reachable")) && Boolean.TRUE.equals(r.get("reachable"));
        out.put("status", drain.draining() ? "DRAINING" : up ? "UP" : "DEGRADED");
        out.put("postgresql", pg);
        out.put("redis", r);
        out.put("interactions_pending", interactions.pending());
        out.put("interactions_spilled", interactions.spilled());
        out.put("requests_in_flight", drain.inFlight());
        return out;
    }

    private interface Probe {
        boolean run() throws Exception;
    }

    private static boolean probe(Probe p) {
        try {
            return p.run();
        } catch (Exception e) {
            return false;
        }
    }
}
