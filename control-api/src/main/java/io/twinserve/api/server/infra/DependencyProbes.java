package io.twinserve.api.server.infra;

import io.micronaut.context.annotation.Context;
import io.micronaut.core.annotation.Nullable;
import java.sql.Connection;
import java.util.concurrent.TimeUnit;
import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;

/**
 * The checks that close the circuit breakers of {@link Dependencies}: a connection from the pool the queries
 * use, validated by the server, and a Redis {@code PING}. Both go around the breakers (a probe must run while
 * its breaker refuses every call) and both are bounded by the same short timeouts as the calls they stand in
 * for.
 */
@Context
final class DependencyProbes {

    DependencyProbes(Dependencies dependencies, DSLContext db, @Nullable Redis redis) {
        ConnectionProvider pool = db.configuration().connectionProvider();
        dependencies.probeDatabaseWith(() -> {
            Connection c = pool.acquire();
            try {
                return c.isValid(1);
            } finally {
                pool.release(c);
            }
        });
        if (redis != null) {
            dependencies.probeRedisWith(() -> "PONG".equals(redis.async().ping().get(1, TimeUnit.SECONDS)));
        }
    }
}
