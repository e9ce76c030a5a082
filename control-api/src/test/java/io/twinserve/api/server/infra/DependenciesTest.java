package io.twinserve.api.server.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.ConnectException;
import java.sql.SQLException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The circuit breaker's life: open on outages only, refuse at once, close again after a good probe. */
class DependenciesTest {

    @Test
    void opensOnOutagesRefusesAtOnceAndClosesAfterAGoodProbe() throws Exception {
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        Dependencies d = new Dependencies(metrics, 1);
        // successes in the window do not delay it: the first outage failure opens it
        for (int i = 0; i < 9; i++) {
            d.acquireDatabase();
            d.releaseDatabase(1_000, null);
        }
        d.acquireDatabase();
        d.releaseDatabase(1_000, new SQLException("connection refused", "08001"));
        assertThat(d.databaseUp()).isFalse();
        assertThat(metrics.get("twinserve_dependency_up")
                        .tag("dependency", "postgresql")
                        .gauge()
                        .value())
                .isZero();
        assertThatThrownBy(d::acquireDatabase)
                .isInstanceOf(DependencyUnavailable.class)
                .hasMessageContaining("PostgreSQL is unavailable");
        // after the open period one probe goes through; its success closes the breaker
        Thread.sleep(1_100);
        d.acquireDatabase();
        d.releaseDatabase(1_000, null);
        assertThat(d.databaseState()).isEqualTo("closed");
        d.acquireDatabase();
        d.releaseDatabase(1_000, null);
    }

    @Test
    void withAProbeNoCallerWaitsAsTheProbeAndTheProbeClosesIt() throws Exception {
        Dependencies d = new Dependencies(new SimpleMeterRegistry(), 1, 20);
        try {
            AtomicBoolean reachable = new AtomicBoolean(false);
            AtomicInteger probes = new AtomicInteger();
            d.probeDatabaseWith(() -> {
                probes.incrementAndGet();
                return reachable.get();
            });
            d.acquireDatabase();
            d.releaseDatabase(1_000, new SQLException("the database system is shutting down", "57P01"));
            assertThat(d.databaseUp()).isFalse();
            // past the open period a plain breaker would let a caller through; with a prober every caller is
            // refused until the probe finds the database back
            long openedNs = System.nanoTime();
            long deadline = openedNs + 10_000_000_000L;
            while ((probes.get() <= 2 || System.nanoTime() - openedNs < 1_200_000_000L)
                    && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(probes.get())
                    .as("the prober kept trying while the database was away")
                    .isGreaterThan(2);
            for (int i = 0; i < 5; i++) {
                assertThatThrownBy(d::acquireDatabase).isInstanceOf(DependencyUnavailable.class);
            }
            assertThatThrownBy(d::checkDatabase).isInstanceOf(DependencyUnavailable.class);
            reachable.set(true);
            deadline = System.nanoTime() + 10_000_000_000L;
            while (!d.databaseUp() && System.nanoTime() < deadline) {
                Thread.sleep(5);
            }
            assertThat(d.databaseState()).isEqualTo("closed");
            int after = probes.get();
            d.acquireDatabase();
            d.releaseDatabase(1_000, null);
            Thread.sleep(100);
            assertThat(probes.get()).as("no probing while closed").isEqualTo(after);
        } finally {
            d.close();
        }
    }

    @Test
    void theCallersOwnErrorsDoNotOpenIt() {
        Dependencies d = new Dependencies(new SimpleMeterRegistry(), 1);
        for (int i = 0; i < 10; i++) {
            d.acquireDatabase();
            d.releaseDatabase(1_000, new SQLException("duplicate key", "23505"));
        }
        assertThat(d.databaseUp()).isTrue();
        assertThat(Dependencies.isOutage(new IllegalStateException(new ConnectException("refused"))))
                .isTrue();
        assertThat(Dependencies.isOutage(new SQLException("syntax", "42601"))).isFalse();
    }
}
