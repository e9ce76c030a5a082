package io.twinserve.api.server.inference;

import io.micronaut.core.order.Ordered;
import io.micronaut.http.HttpMethod;
import io.micronaut.http.HttpRequest;
import io.micronaut.http.MutableHttpResponse;
import io.micronaut.http.annotation.ResponseFilter;
import io.micronaut.http.annotation.ServerFilter;

/**
 * Counts, in {@code twinserve_requests_total}, every inference call that never reached a replica, with the
 * status it was answered with (401 from the key check, 400, 403, 404, 413, 503, ...); calls that did reach
 * one are counted when they finish, with their own status (200, 408, 499, 500). Outermost of the filters,
 * so it sees the answers the others give too.
 */
@ServerFilter({"/v1/chat/completions", "/v1/completions"})
final class InferenceOutcomeFilter implements Ordered {
    /** Set once the call was handed to a replica: its end is counted by the {@link InferenceRecorder}. */
    static final String SUBMITTED = "twinserve.inference.submitted";
    /** The deployment the call named, once it is known to exist. */
    static final String DEPLOYMENT = "twinserve.inference.deployment";

    private final InferenceMetrics metrics;

    InferenceOutcomeFilter(InferenceMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public int getOrder() {
        return HIGHEST_PRECEDENCE;
    }

    @ResponseFilter
    void count(HttpRequest<?> request, MutableHttpResponse<?> response) {
        if (request.getMethod() != HttpMethod.POST
                || request.getAttribute(SUBMITTED).isPresent()) {
            return;
        }
        // a name nobody registered must not become a series: unknown deployments are counted under ""
        String deployment = request.getAttribute(DEPLOYMENT, String.class).orElse(InferenceMetrics.NO_DEPLOYMENT);
        metrics.request(deployment, response.code());
    }
}
