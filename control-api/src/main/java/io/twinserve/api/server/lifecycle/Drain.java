package io.twinserve.api.server.lifecycle;

import io.micronaut.core.annotation.Nullable;
import io.micronaut.core.annotation.Order;
import io.micronaut.core.order.Ordered;
import io.micronaut.health.HealthStatus;
import io.micronaut.http.HttpHeaders;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.HttpResponse;
import io.micronaut.http.HttpStatus;
import io.micronaut.http.MediaType;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.RequestFilter;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import io.twinserve.api.server.ApiException;
import java.util.concurrent.atomic.AtomicInteger;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * The first half of a stop: once {@link #begin} is called every new request but {@code /health} is answered
 * 503 with {@code Retry-After} (and {@code /health} says DOWN, so a load balancer stops sending), while the
 * requests already in flight run to their end. Counts the requests in flight; a streamed answer counts until
 * its headers are out, the deployment's own count covers the rest of it.
 */
@ServerFilter("/**")
@Order(Ordered.HIGHEST_PRECEDENCE)
public final class Drain implements HealthIndicator {
    private static final String COUNTED = "twinserve.drain.counted";

    private volatile boolean draining;
    private final AtomicInteger inFlight = new AtomicInteger();

    public void begin() {
        draining = true;
    }

    public boolean draining() {
        return draining;
    }

    /** Requests whose response has not been produced yet. */
    public int inFlight() {
        return inFlight.get();
    }

    @RequestFilter
    @Nullable
    public HttpResponse<?> onRequest(HttpRequest<?> request) {
        if (draining && !request.getPath().startsWith("/health")) {
            return HttpResponse.status(HttpStatus.SERVICE_UNAVAILABLE)
                    .contentType(MediaType.APPLICATION_JSON_TYPE)
                    .header(HttpHeaders.RETRY_AFTER, "5")
                    .header(HttpHeaders.CONNECTION, "close")
                    .body(ApiException.errorBody(
                            "the server is shutting down; retry in a few seconds (or on another instance)",
                            "server_error",
                            null,
                            "shutting_down"));
        }
        inFlight.incrementAndGet();
        request.setAttribute(COUNTED, Boolean.TRUE);
        return null;
    }

    @ResponseFilter
    public void onResponse(HttpRequest<?> request, MutableHttpResponse<?> response) {
        if (request.getAttribute(COUNTED).isPresent()) {
            request.removeAttribute(COUNTED, Boolean.class);
            inFlight.decrementAndGet();
        }
    }

    @Override
    public Publisher<HealthResult> getResult() {
        return Mono.just(HealthResult.builder("serving", draining ? HealthStatus.DOWN : HealthStatus.UP)
                .build());
    }
}
