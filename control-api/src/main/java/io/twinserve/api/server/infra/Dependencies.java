package io.twinserve.api.server.infra;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The circuit breakers in front of PostgreSQL and Redis. Calls fail fast (a short connection timeout),
 * and once most recent calls to a dependency failed its breaker opens: every call that needs it is refused
 * at once with {@link DependencyUnavailable} (503) instead of each waiting out a timeout, until a probe
 * after {@code twinserve.dependencies.open-seconds} finds it back. Failures that are the caller's (a
 * constraint violation, a bad query) do not count; only lost connections, refused connections and
 * timeouts do. Two such failures in a row are enough to open it: with a 300 ms connection timeout, calls stop
 * waiting on an unreachable PostgreSQL within about half a second.
 */
@Singleton
public final class Dependencies {
    private static final Logger LOG = LoggerFactory.getLogger(Dependencies.class);
    public static final String POSTGRESQL = "PostgreSQL";
    public static final String REDIS = "Redis";

    private final CircuitBreaker database;
    private final CircuitBreaker redis;
    private final int retryAfterSeconds;

    public Dependencies(MeterRegistry metrics, @Value("${twinserve.dependencies.open-seconds:2}") int openSeconds) {
        this.retryAfterSeconds = Math.max(1, openSeconds);
        CircuitBreakerConfig config = CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(10)
                .minimumNumberOfCalls(2)
                .failureRateThreshold(50)
                .waitDurationInOpenState(Duration.ofSeconds(openSeconds))
                .permittedNumberOfCallsInHalfOpenState(1)
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .recordException(Dependencies::isOutage)
                .build();
        this.database = CircuitBreaker.of("postgresql", config);
        this.redis = CircuitBreaker.of("redis", config);
        database.getEventPublisher().onStateTransition(e -> logTransition(POSTGRESQL, e.getStateTransition()));
        redis.getEventPublisher().onStateTransition(e -> logTransition(REDIS, e.getStateTransition()));
        for (CircuitBreaker b : new CircuitBreaker[] {database, redis}) {
            Gauge.builder("twinserve_dependency_up", b, Dependencies::up)
                    .tag("dependency", b.getName())
                    .description("1 while the dependency's circuit breaker lets calls through, 0 while it is open")
                    .register(metrics);
        }
    }

    private static void logTransition(String name, CircuitBreaker.StateTransition t) {
        switch (t.getToState()) {
            case OPEN -> LOG.warn("{} is unavailable: calls that need it get 503 at once (circuit breaker open)", name);
            case CLOSED -> LOG.info("{} answers again (circuit breaker closed)", name);
            default -> LOG.debug("{} circuit breaker: {}", name, t);
        }
    }

    private static double up(CircuitBreaker b) {
        return b.getState() == CircuitBreaker.State.OPEN ? 0 : 1;
    }

    /** Refuses at once while the database's breaker is open; otherwise lets one call through. */
    public void acquireDatabase() {
        acquire(database, POSTGRESQL);
    }

    /** Refuses while the database's breaker is open, without taking a call's permission. */
    public void checkDatabase() {
        if (database.getState() == CircuitBreaker.State.OPEN) {
            if (!database.tryAcquirePermission()) {
                throw new DependencyUnavailable(POSTGRESQL, retryAfterSeconds, null);
            }
            database.releasePermission();
        }
    }

    /** Counts an outage seen outside a guarded call (a connection the transaction manager could not get). */
    public void recordDatabaseOutage(Throwable e) {
        database.onError(0, TimeUnit.NANOSECONDS, e);
    }

    public void acquireRedis() {
        acquire(redis, REDIS);
    }

    private void acquire(CircuitBreaker b, String name) {
        if (!b.tryAcquirePermission()) {
            throw new DependencyUnavailable(name, retryAfterSeconds, null);
        }
    }

    /** Ends a call let through by {@link #acquireDatabase}: {@code failure} null for success. */
    public void releaseDatabase(long nanos, Throwable failure) {
        release(database, nanos, failure);
    }

    public void releaseRedis(long nanos, Throwable failure) {
        release(redis, nanos, failure);
    }

    private static void release(CircuitBreaker b, long nanos, Throwable failure) {
        if (failure == null) {
            b.onSuccess(nanos, TimeUnit.NANOSECONDS);
        } else {
            b.onError(nanos, TimeUnit.NANOSECONDS, failure);
        }
    }

    /** Runs a Redis call under its breaker; an outage becomes {@link DependencyUnavailable}. */
    public <T> T redis(RedisCall<T> call) {
        acquireRedis();
        long t0 = System.nanoTime();
        try {
            T v = call.run();
            releaseRedis(System.nanoTime() - t0, null);
            return v;
        } catch (Exception e) {
            releaseRedis(System.nanoTime() - t0, e);
            if (isOutage(e)) {
                throw new DependencyUnavailable(REDIS, retryAfterSeconds, e);
            }
            throw e instanceof RuntimeException r ? r : new IllegalStateException(e);
        }
    }

    /** A Redis call that may throw Lettuce's or a future's checked exceptions. */
    @FunctionalInterface
    public interface RedisCall<T> {
        T run() throws Exception;
    }

    public boolean databaseUp() {
        return database.getState() != CircuitBreaker.State.OPEN;
    }

    /** The breaker states, for the operators' health details. */
    public String databaseState() {
        return database.getState().name().toLowerCase(Locale.ROOT);
    }

    public String redisState() {
        return redis.getState().name().toLowerCase(Locale.ROOT);
    }

    public int retryAfterSeconds() {
        return retryAfterSeconds;
    }

    public DependencyUnavailable databaseUnavailable(Throwable cause) {
        return new DependencyUnavailable(POSTGRESQL, retryAfterSeconds, cause);
    }

    /**
     * Whether a failure means the dependency is out of reach (connection refused or lost, a timeout), as
     * opposed to a failure of the call itself. SQL states of class 08 are connection exceptions; 57P01-57P03
     * are an administrator or crash shutdown of the server.
     */
    public static boolean isOutage(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof DependencyUnavailable
                    || t instanceof ConnectException
                    || t instanceof SocketException
                    || t instanceof SocketTimeoutException
                    || t instanceof TimeoutException
                    || t instanceof SQLTransientConnectionException) {
                return true;
            }
            if (t instanceof SQLException s && s.getSQLState() != null) {
                String state = s.getSQLState();
                if (state.startsWith("08") || state.startsWith("57P")) {
                    return true;
                }
            }
            String name = t.getClass().getName();
            if (name.startsWith("io.lettuce.core.RedisConnectionException")
                    || name.startsWith("io.lettuce.core.RedisCommandTimeoutException")
                    || (name.equals("io.lettuce.core.RedisException")
                            && String.valueOf(t.getMessage()).contains("not connected"))) {
                return true;
            }
            if (t instanceof IOException && t.getClass().getName().startsWith("io.netty")) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }
}
