package io.twinserve.api.server;

import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.micronaut.context.annotation.Value;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.MediaType;
import io.micronaut.http.annotation.Controller;
import io.micronaut.http.annotation.Get;
import io.micronaut.http.annotation.Produces;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.security.SecurityRequirement;
import io.swagger.v3.oas.annotations.tags.Tag;
import io.twinserve.api.server.auth.AuthFilter;
import io.twinserve.api.server.auth.Role;

/**
 * Prometheus' text format at {@code /metrics}, for operators unless {@link MetricsExposure} says otherwise
 * (its series name every deployment and adapter).
 */
@Controller
@Tag(name = "operations")
@SecurityRequirement(name = "bearer")
public final class MetricsController {
    private final PrometheusMeterRegistry registry;
    private final MetricsExposure exposure;

    public MetricsController(
            PrometheusMeterRegistry registry, @Value("${" + MetricsExposure.PROPERTY + ":operators}") String exposure) {
        this.registry = registry;
        this.exposure = MetricsExposure.parse(exposure);
    }

    private static final MediaType PROMETHEUS_TEXT = MediaType.of("text/plain; version=0.0.4; charset=utf-8");

    // a scraper may accept text/plain only; the errors are JSON
    @Get("/metrics")
    @Produces({MediaType.TEXT_PLAIN, MediaType.APPLICATION_JSON})
    @Operation(
            operationId = "metrics",
            summary = "Prometheus metrics",
            description = "Needs an operator or admin key unless twinserve.metrics.exposure is public; 404 when it"
                    + " is off.")
    @ApiResponse(
            responseCode = "200",
            description = "Prometheus' text exposition format",
            content = @Content(mediaType = "text/plain", schema = @Schema(type = "string")))
    @ApiErrors.Unauthorized
    @ApiErrors.Forbidden
    @ApiErrors.NotFound
    public HttpResponse<String> metrics(HttpRequest<?> request) {
        switch (exposure) {
            case OFF ->
                throw ApiException.notFound(
                        null, "metrics are switched off on this server (twinserve.metrics.exposure = off)");
            case OPERATORS -> AuthFilter.require(request, Role.OPERATOR);
            case PUBLIC -> {}
        }
        return HttpResponse.ok(registry.scrape()).contentType(PROMETHEUS_TEXT);
    }
}
