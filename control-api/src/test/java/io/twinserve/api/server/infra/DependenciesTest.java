package io.twinserve.api.server.infra;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.net.ConnectException;
import java.sql.SQLException;
import org.junit.jupiter.api.Test;

/** The circuit breaker's life: open on outages only, refuse at once, close again after a good probe. */
class DependenciesTest {

    @Test
    void opensOnOutagesRefusesAtOnceAndClosesAfterAGoodProbe() throws Exception {
        SimpleMeterRegistry metrics = new SimpleMeterRegistry();
        Dependencies d = new Dependencies(metrics, 1);
        // two outage failures open it
        d.acquireDatabase();
        d.releaseDatabase(1_000, new SQLException("connection refused", "08001"));
        assertThat(d.databaseUp()).isTrue();
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
