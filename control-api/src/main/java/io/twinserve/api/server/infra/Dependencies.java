package io.twinserve.api.server.infra;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.IllegalStateTransitionException;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The circuit breakers in front of PostgreSQL and Redis. Calls fail fast (a short connection timeout), and
 * the first failure that says the dependency is out of reach (a refused or lost connection, a timeout, a
 * server shutting down) opens its breaker: from then on every call that needs it is refused at once with
 * {@link DependencyUnavailable} (503) instead of each waiting out a timeout. Failures that are the caller's
 * (a constraint violation, a bad query) do not count.
 *
 * <p>While a breaker is open, no request is made to wait as its probe: a background prober ({@link
 * #probeDatabaseWith}, {@link #probeRedisWith}) tries the dependency at once and then every {@code
 * twinserve.dependencies.probe-ms}, and closes the breaker on the first good answer. A false alarm (one
 * broken pooled connection) therefore costs one probe's round trip. Without a registered probe (the
 * command line's own database handle), the breaker lets one caller through after {@code
 * twinserve.dependencies.open-seconds}, as a plain circuit breaker does.
 */
@Singleton
public final class Dependencies implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dependencies.class);
    public static final String POSTGRESQL = "PostgreSQL";
    public static final String REDIS = "Redis";

    /** How long an open breaker with a prober waits for callers: the prober closes it long before. */
    private static final long PROBED_OPEN_MS = 3_600_000L;

    private final CircuitBreaker database;
    private final CircuitBreaker redis;
    private final int retryAfterSeconds;
    private final long probeMs;
    private final Map<CircuitBreaker, Probe> probes = new ConcurrentHashMap<>();
    private final ScheduledExecutorService prober = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "twinserve-dependency-prober");
        t.setDaemon(true);
        return t;
    });

    /** A check of a dependency that answers quickly: true when it is reachable. */
    @FunctionalInterface
    public interface Probe {
        boolean reachable() throws Exception;
    }

    public Dependencies(MeterRegistry metrics, @Value("${twinserve.dependencies.open-seconds:2}") int openSeconds) {
        this(metrics, openSeconds, 250);
    }

    @Inject
    public Dependencies(
            MeterRegistry metrics,
            @Value("${twinserve.dependencies.open-seconds:2}") int openSeconds,
            @Value("${twinserve.dependencies.probe-ms:250}") long probeMs) {
        this.retryAfterSeconds = Math.max(1, openSeconds);
        this.probeMs = Math.max(10, probeMs);
        this.database = CircuitBreaker.of("postgresql", config(openSeconds, () -> probes.containsKey(database())));
        this.redis = CircuitBreaker.of("redis", config(openSeconds, () -> probes.containsKey(redis())));
        database.getEventPublisher().onStateTransition(e -> logTransition(POSTGRESQL, e.getStateTransition()));
        redis.getEventPublisher().onStateTransition(e -> logTransition(REDIS, e.getStateTransition()));
        database.getEventPublisher().onStateTransition(e -> startProbing(database, e.getStateTransition()));
        redis.getEventPublisher().onStateTransition(e -> startProbing(redis, e.getStateTransition()));
        for (CircuitBreaker b : new CircuitBreaker[] {database, redis}) {
            Gauge.builder("twinserve_dependency_up", b, Dependencies::up)
                    .tag("dependency", b.getName())
                    .description("1 while the dependency's circuit breaker lets calls through, 0 while it is open")
                    .register(metrics);
        }
    }

    private CircuitBreaker database() {
        return database;
    }

    private CircuitBreaker redis() {
        return redis;
    }

    private static CircuitBreakerConfig config(int openSeconds, BooleanSupplier probed) {
        long openMs = Math.max(1, openSeconds) * 1000L;
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(10)
                .minimumNumberOfCalls(1)
                .failureRateThreshold(50)
                // evaluated at each opening: with a prober, callers are never let through as probes
                .waitIntervalFunctionInOpenState(attempt -> probed.getAsBoolean() ? PROBED_OPEN_MS : openMs)
                .permittedNumberOfCallsInHalfOpenState(1)
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .recordException(Dependencies::isOutage)
                .build();
    }

    /** Registers the check that closes the database's breaker (see the class comment). */
    public void probeDatabaseWith(Probe probe) {
        probes.put(database, probe);
    }

    /** Registers the check that closes Redis's breaker. */
    public void probeRedisWith(Probe probe) {
        probes.put(redis, probe);
    }

    private void startProbing(CircuitBreaker b, CircuitBreaker.StateTransition t) {
        if (t.getToState() == CircuitBreaker.State.OPEN && probes.containsKey(b)) {
            try {
                prober.execute(() -> probe(b));
            } catch (RejectedExecutionException e) {
                // closed: the server is stopping
            }
        }
    }

    /** Tries the dependency; closes the breaker when it answers, else tries again after {@code probeMs}. */
    private void probe(CircuitBreaker b) {
        if (b.getState() != CircuitBreaker.State.OPEN && b.getState() != CircuitBreaker.State.HALF_OPEN) {
            return;
        }
        boolean ok;
        try {
            ok = probes.get(b).reachable();
        } catch (Exception | LinkageError e) {
            ok = false;
        }
        if (ok) {
            b.transitionToClosedState();
            return;
        }
        try {
            prober.schedule(() -> probe(b), probeMs, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            // closed: the server is stopping
        }
    }

    @Override
    @PreDestroy
    public void close() {
        prober.shutdownNow();
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
        release(database, 0, e);
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
            // one refused or lost connection is enough: waiting for a failure rate would make the calls in
            // between each wait out a timeout
            if (isOutage(failure) && b.getState() == CircuitBreaker.State.CLOSED) {
                try {
                    b.transitionToOpenState();
                } catch (IllegalStateTransitionException e) {
                    // another call opened it first
                }
            }
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
