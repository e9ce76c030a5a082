package io.twinserve.api.server.infra;

/**
 * A call needed PostgreSQL or Redis and it did not answer (or its circuit breaker is open): the API answers
 * 503 with {@code Retry-After}, naming the dependency but never the driver's own text.
 */
public final class DependencyUnavailable extends RuntimeException {
    private final String dependency;
    private final int retryAfterSeconds;

    public DependencyUnavailable(String dependency, int retryAfterSeconds, Throwable cause) {
        super(dependency + " is unavailable; retry in " + retryAfterSeconds + " s", cause, false, false);
        this.dependency = dependency;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    /** {@code PostgreSQL} or {@code Redis}. */
    public String dependency() {
        return dependency;
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
