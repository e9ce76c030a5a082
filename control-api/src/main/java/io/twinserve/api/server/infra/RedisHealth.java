package io.twinserve.api.server.infra;

import io.micronaut.health.HealthStatus;
import io.micronaut.management.health.indicator.HealthIndicator;
import io.micronaut.management.health.indicator.HealthResult;
import jakarta.inject.Singleton;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** {@code /health} includes Redis: a PING within two seconds. */
@Singleton
public final class RedisHealth implements HealthIndicator {
    private final Redis redis;

    public RedisHealth(Redis redis) {
        this.redis = redis;
    }

    @Override
    public Publisher<HealthResult> getResult() {
        return Mono.fromCallable(() -> {
            try {
                String pong = redis.async().ping().get(2, TimeUnit.SECONDS);
                return HealthResult.builder("redis", "PONG".equals(pong) ? HealthStatus.UP : HealthStatus.DOWN)
                        .details(Map.of("reply", pong))
                        .build();
            } catch (Exception e) {
                return HealthResult.builder("redis", HealthStatus.DOWN)
                        .details(Map.of("error", e.toString()))
                        .build();
            }
        });
    }
}
