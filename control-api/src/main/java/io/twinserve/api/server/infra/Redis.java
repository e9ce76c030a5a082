package io.twinserve.api.server.infra;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.pubsub.RedisPubSubAdapter;
import io.lettuce.core.pubsub.StatefulRedisPubSubConnection;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;

/** The server's one Redis client (Lettuce): a shared command connection and one pub/sub connection. */
@Singleton
public final class Redis implements AutoCloseable {
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> connection;
    private final StatefulRedisPubSubConnection<String, String> pubsub;
    private final Map<String, CopyOnWriteArrayList<Consumer<String>>> listeners = new ConcurrentHashMap<>();

    public Redis(
            @Value("${twinserve.redis.uri}") String uri, @Value("${twinserve.redis-timeout-ms:1000}") int timeoutMs) {
        RedisURI redisUri = RedisURI.create(uri);
        redisUri.setTimeout(Duration.ofMillis(timeoutMs));
        this.client = RedisClient.create(redisUri);
        // fail fast: a command waits at most the timeout, and while the connection is down commands are refused
        // at once instead of queueing without bound; the connection comes back on its own when Redis does
        client.setOptions(ClientOptions.builder()
                .timeoutOptions(TimeoutOptions.enabled(Duration.ofMillis(timeoutMs)))
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .autoReconnect(true)
                .socketOptions(SocketOptions.builder()
                        .connectTimeout(Duration.ofMillis(Math.max(500, timeoutMs)))
                        .build())
                .build());
        this.connection = client.connect();
        this.pubsub = client.connectPubSub();
        pubsub.addListener(new RedisPubSubAdapter<>() {
            @Override
            public void message(String channel, String message) {
                var list = listeners.get(channel);
                if (list != null) {
                    list.forEach(l -> l.accept(message));
                }
            }
        });
    }

    public RedisAsyncCommands<String, String> async() {
        return connection.async();
    }

    /** Calls {@code listener} for every message published on {@code channel} (by any server instance). */
    public void subscribe(String channel, Consumer<String> listener) {
        listeners
                .computeIfAbsent(channel, c -> {
                    pubsub.sync().subscribe(c);
                    return new CopyOnWriteArrayList<>();
                })
                .add(listener);
    }

    public void publish(String channel, String message) {
        connection.async().publish(channel, message);
    }

    public boolean isOpen() {
        return connection.isOpen() && pubsub.isOpen();
    }

    @PreDestroy
    @Override
    public void close() {
        pubsub.close();
        connection.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
