package io.twinserve.api.server.usage;

import io.micronaut.context.annotation.Context;
import io.micronaut.scheduling.annotation.Scheduled;
import io.twinserve.api.server.infra.Redis;
import jakarta.annotation.PreDestroy;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Usage per key, deployment and adapter per minute, in Redis hashes {@code twinserve:usage:MINUTE:DIMENSION}
 * with fields {@code requests}, {@code prompt_tokens} and {@code completion_tokens}, kept seven days.
 * Counts gather in memory and go to Redis once a second, so the request path does no Redis call.
 */
// created with the context, so its scheduled task never builds it while the context is closing
@Context
public final class UsageStats {
    static final DateTimeFormatter MINUTE =
            DateTimeFormatter.ofPattern("yyyyMMddHHmm").withZone(ZoneOffset.UTC);
    private static final long TTL_SECONDS = 7 * 24 * 3600;

    private final Redis redis;
    private final Map<String, LongAdder[]> pending = new ConcurrentHashMap<>();

    public UsageStats(Redis redis) {
        this.redis = redis;
    }

    public void record(long keyId, String deployment, String adapter, int promptTokens, int completionTokens) {
        String minute = MINUTE.format(Instant.now());
        add(minute + ":key:" + keyId, promptTokens, completionTokens);
        add(minute + ":deployment:" + deployment, promptTokens, completionTokens);
        if (adapter != null) {
            add(minute + ":adapter:" + deployment + ":" + adapter, promptTokens, completionTokens);
        }
    }

    private void add(String key, int prompt, int completion) {
        LongAdder[] a =
                pending.computeIfAbsent(key, k -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder()});
        a[0].increment();
        a[1].add(prompt);
        a[2].add(completion);
    }

    @Scheduled(fixedDelay = "1s")
    @PreDestroy
    public void flush() {
        for (String key : List.copyOf(pending.keySet())) {
            LongAdder[] a = pending.remove(key);
            if (a == null) {
                continue;
            }
            String redisKey = "twinserve:usage:" + key;
            var async = redis.async();
            async.hincrby(redisKey, "requests", a[0].sum());
            async.hincrby(redisKey, "prompt_tokens", a[1].sum());
            async.hincrby(redisKey, "completion_tokens", a[2].sum());
            async.expire(redisKey, TTL_SECONDS);
        }
    }

    /** The last {@code minutes} minutes of one dimension ({@code key:ID}, {@code deployment:NAME}, ...). */
    public List<Map<String, Object>> read(String dimension, int minutes) throws Exception {
        flush();
        Instant now = Instant.now();
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = minutes - 1; i >= 0; i--) {
            String minute = MINUTE.format(now.minusSeconds(60L * i));
            Map<String, String> h = redis.async()
                    .hgetall("twinserve:usage:" + minute + ":" + dimension)
                    .get(5, TimeUnit.SECONDS);
            if (h.isEmpty()) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("minute", minute);
            h.forEach((k, v) -> m.put(k, Long.parseLong(v)));
            out.add(m);
        }
        return out;
    }
}
