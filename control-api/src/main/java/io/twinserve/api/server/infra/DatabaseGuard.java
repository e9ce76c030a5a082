package io.twinserve.api.server.infra;

import io.micronaut.context.annotation.Factory;
import jakarta.inject.Named;
import jakarta.inject.Singleton;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.ExecuteListenerProvider;
import org.jooq.TransactionContext;
import org.jooq.TransactionListener;
import org.jooq.TransactionListenerProvider;

/**
 * Puts every jOOQ query and transaction behind the PostgreSQL circuit breaker ({@link Dependencies}):
 * refused before a connection is asked for while the breaker is open, and its outcome recorded. An outage
 * surfaces as {@link DependencyUnavailable}, which the API answers with 503 (never the driver's text).
 */
@Factory
final class DatabaseGuard {

    // named after the data source: micronaut-jooq picks up listener providers by the data source's name
    @Singleton
    @Named("default")
    ExecuteListenerProvider databaseBreaker(Dependencies dependencies) {
        return () -> new Listener(dependencies);
    }

    @Singleton
    @Named("default")
    TransactionListenerProvider databaseTransactionBreaker(Dependencies dependencies) {
        return () -> new TransactionListener() {
            @Override
            public void beginStart(TransactionContext ctx) {
                // the connection is taken by the transaction manager, outside any query: only refuse here while
                // the breaker is open; the transaction's queries are counted by the listener below
                dependencies.checkDatabase();
            }
        };
    }

    /** One listener per executed query (jOOQ asks the provider for each). */
    private static final class Listener implements ExecuteListener {
        private final Dependencies dependencies;
        private long startedNs;
        private boolean acquired;

        Listener(Dependencies dependencies) {
            this.dependencies = dependencies;
        }

        @Override
        public void start(ExecuteContext ctx) {
            dependencies.acquireDatabase();
            acquired = true;
            startedNs = System.nanoTime();
        }

        @Override
        public void exception(ExecuteContext ctx) {
            if (!acquired) {
                return;
            }
            acquired = false;
            RuntimeException e = ctx.exception();
            Throwable cause = ctx.sqlException() != null ? ctx.sqlException() : e;
            dependencies.releaseDatabase(System.nanoTime() - startedNs, cause);
            if (Dependencies.isOutage(cause)) {
                ctx.exception(dependencies.databaseUnavailable(cause));
            }
        }

        @Override
        public void end(ExecuteContext ctx) {
            if (acquired) {
                acquired = false;
                dependencies.releaseDatabase(System.nanoTime() - startedNs, null);
            }
        }
    }
}
