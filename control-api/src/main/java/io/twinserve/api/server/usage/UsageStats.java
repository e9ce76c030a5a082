package io.twinserve.api.server.usage;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.ScriptOutputType;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Context;
import io.micronaut.context.annotation.Value;
import io.micronaut.scheduling.annotation.Scheduled;
import io.twinserve.api.server.infra.Dependencies;
import io.twinserve.api.server.infra.Redis;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Usage per key, deployment and adapter per minute, in Redis hashes {@code twinserve:usage:MINUTE:DIMENSION}
 * with fields {@code requests}, {@code prompt_tokens} and {@code completion_tokens}, kept seven days.
 *
 * <p>Counts gather in memory and go to Redis once a second, so the request path does no Redis call. Nothing is
 * lost or counted twice: each flush is one batch with an id, applied by a Lua script only if that id was not
 * applied before, so a batch whose answer was lost (Redis died mid-call) is retried with the same id. While
 * Redis is down counts keep gathering (bounded: a minute older than the seven days Redis would keep it is
 * dropped, and counted in {@code twinserve_usage_dropped_total}); at shutdown whatever Redis did not take goes
 * to {@code usage.spill.json} in the data folder and is sent at the next start.
 */
// created with the context, so its scheduled task never builds it while the context is closing
@Context
public final class UsageStats {
    private static final Logger LOG = LoggerFactory.getLogger(UsageStats.class);
    static final DateTimeFormatter MINUTE =
            DateTimeFormatter.ofPattern("yyyyMMddHHmm").withZone(ZoneOffset.UTC);
    private static final long TTL_SECONDS = 7 * 24 * 3600;
    /** How long a batch id is remembered: a batch retried later than this could count twice. */
    private static final long BATCH_ID_TTL_SECONDS = 24 * 3600;

    private static final String APPLY = """
            if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then return 0 end
            for i = 2, #KEYS do
              local b = (i - 2) * 3 + 3
              redis.call('HINCRBY', KEYS[i], 'requests', ARGV[b])
              redis.call('HINCRBY', KEYS[i], 'prompt_tokens', ARGV[b + 1])
              redis.call('HINCRBY', KEYS[i], 'completion_tokens', ARGV[b + 2])
              redis.call('EXPIRE', KEYS[i], ARGV[2])
            end
            return 1
            """;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Redis redis;
    private final Dependencies dependencies;
    private final Path spill;
    private final Map<String, LongAdder[]> pending = new ConcurrentHashMap<>();
    /** Counts taken from {@link #pending} that Redis has not confirmed; guarded by {@code this}. */
    private final Map<String, long[]> unsent = new HashMap<>();
    /** The id {@link #unsent} was last sent under, null when it has not been sent yet; guarded by {@code this}. */
    private String batchId;

    private final AtomicLong recorded = new AtomicLong();
    private final Counter failures;
    private final Counter dropped;

    public UsageStats(
            Redis redis,
            Dependencies dependencies,
            MeterRegistry metrics,
            @Value("${twinserve.data-dir}") String dataDir) {
        this.redis = redis;
        this.dependencies = dependencies;
        this.spill = Path.of(dataDir).resolve("usage.spill.json");
        this.failures = Counter.builder("twinserve_usage_flush_failures_total")
                .description("usage flushes Redis did not take (retried)")
                .register(metrics);
        this.dropped = Counter.builder("twinserve_usage_dropped_total")
                .description("usage entries dropped after waiting longer than Redis would keep them")
                .register(metrics);
        Gauge.builder("twinserve_usage_buffered_entries", this, UsageStats::buffered)
                .description("usage entries (minute x dimension) waiting for Redis")
                .register(metrics);
        loadSpill();
    }

    public void record(long keyId, String deployment, String adapter, int promptTokens, int completionTokens) {
        String minute = MINUTE.format(Instant.now());
        add(minute + ":key:" + keyId, promptTokens, completionTokens);
        add(minute + ":deployment:" + deployment, promptTokens, completionTokens);
        if (adapter != null) {
            add(minute + ":adapter:" + deployment + ":" + adapter, promptTokens, completionTokens);
        }
        recorded.incrementAndGet();
    }

    private void add(String key, int prompt, int completion) {
        LongAdder[] a =
                pending.computeIfAbsent(key, k -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder()});
        a[0].increment();
        a[1].add(prompt);
        a[2].add(completion);
    }

    /** Requests recorded since start (for tests and the fault benchmark). */
    public long recorded() {
        return recorded.get();
    }

    synchronized int buffered() {
        return unsent.size() + pending.size();
    }

    @Scheduled(fixedDelay = "1s")
    void tick() {
        flush();
    }

    /**
     * Sends what has gathered; returns true when Redis has everything recorded before the call. A batch Redis
     * did not confirm stays, with its id, for the next call.
     */
    public synchronized boolean flush() {
        if (batchId == null) {
            // nothing in doubt: fold the new counts in (a batch that was sent keeps exactly what was sent)
            for (String key : List.copyOf(pending.keySet())) {
                LongAdder[] a = pending.remove(key);
                if (a != null) {
                    long[] u = unsent.computeIfAbsent(key, k -> new long[3]);
                    u[0] += a[0].sum();
                    u[1] += a[1].sum();
                    u[2] += a[2].sum();
                }
            }
            dropExpired();
            if (unsent.isEmpty()) {
                return true;
            }
            batchId = UUID.randomUUID().toString();
        }
        try {
            dependencies.redis(() -> apply(batchId, unsent).get(10, TimeUnit.SECONDS));
            unsent.clear();
            batchId = null;
            return pending.isEmpty();
        } catch (RuntimeException e) {
            failures.increment();
            LOG.debug("usage flush of {} entries did not reach Redis: {}", unsent.size(), e.toString());
            return false;
        }
    }

    private RedisFuture<Long> apply(String id, Map<String, long[]> counts) {
        List<String> keys = new ArrayList<>(counts.size() + 1);
        List<String> args = new ArrayList<>(counts.size() * 3 + 2);
        keys.add("twinserve:usage:batch:" + id);
        args.add(Long.toString(BATCH_ID_TTL_SECONDS));
        args.add(Long.toString(TTL_SECONDS));
        counts.forEach((k, v) -> {
            keys.add("twinserve:usage:" + k);
            args.add(Long.toString(v[0]));
            args.add(Long.toString(v[1]));
            args.add(Long.toString(v[2]));
        });
        return redis.async()
                .eval(APPLY, ScriptOutputType.INTEGER, keys.toArray(String[]::new), args.toArray(String[]::new));
    }

    /** The bound on what waits: a minute Redis would no longer keep is dropped and counted. */
    private void dropExpired() {
        String oldest = MINUTE.format(Instant.now().minusSeconds(TTL_SECONDS));
        int before = unsent.size();
        unsent.keySet().removeIf(k -> k.substring(0, 12).compareTo(oldest) < 0);
        dropped.increment(before - unsent.size());
    }

    /** The last {@code minutes} minutes of one dimension ({@code key:ID}, {@code deployment:NAME}, ...). */
    public List<Map<String, Object>> read(String dimension, int minutes) {
        flush();
        Instant now = Instant.now();
        List<String> names = new ArrayList<>();
        List<RedisFuture<Map<String, String>>> replies = new ArrayList<>();
        dependencies.redis(() -> {
            for (int i = minutes - 1; i >= 0; i--) {
                String minute = MINUTE.format(now.minusSeconds(60L * i));
                names.add(minute);
                replies.add(redis.async().hgetall("twinserve:usage:" + minute + ":" + dimension));
            }
            for (RedisFuture<Map<String, String>> r : replies) {
                r.get(10, TimeUnit.SECONDS);
            }
            return null;
        });
        List<Map<String, Object>> out = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            Map<String, String> h = replies.get(i).toCompletableFuture().join();
            if (h.isEmpty()) {
                continue;
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("minute", names.get(i));
            h.forEach((k, v) -> m.put(k, Long.parseLong(v)));
            out.add(m);
        }
        return out;
    }

    /**
     * The last flush, at shutdown: tries Redis for up to {@code waitMs}, then writes what it did not take to the
     * spill file, so a stop while Redis is away loses nothing.
     */
    public synchronized void close(long waitMs) {
        long deadline = System.currentTimeMillis() + waitMs;
        while (!flush()) {
            if (System.currentTimeMillis() > deadline) {
                writeSpill();
                return;
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                writeSpill();
                return;
            }
        }
    }

    @PreDestroy
    void destroy() {
        close(5_000);
    }

    private record Spilled(String batchId, Map<String, long[]> sent, Map<String, long[]> fresh) {}

    private void writeSpill() {
        Map<String, long[]> fresh = new HashMap<>();
        for (String key : List.copyOf(pending.keySet())) {
            LongAdder[] a = pending.remove(key);
            if (a != null) {
                fresh.put(key, new long[] {a[0].sum(), a[1].sum(), a[2].sum()});
            }
        }
        if (unsent.isEmpty() && fresh.isEmpty()) {
            return;
        }
        try {
            Path tmp = spill.resolveSibling(spill.getFileName() + ".tmp");
            Files.writeString(tmp, JSON.writeValueAsString(new Spilled(batchId, Map.copyOf(unsent), fresh)));
            Files.move(tmp, spill, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            LOG.warn(
                    "Redis did not take the last usage counts; {} entries kept in {} for the next start",
                    unsent.size() + fresh.size(),
                    spill);
            unsent.clear();
            batchId = null;
        } catch (IOException e) {
            LOG.error("could not keep the usage counts Redis did not take in {}: {}", spill, e.toString());
        }
    }

    private synchronized void loadSpill() {
        if (!Files.isRegularFile(spill)) {
            return;
        }
        try {
            Map<String, Object> m = JSON.readValue(spill.toFile(), new TypeReference<>() {});
            Map<String, long[]> sent = JSON.convertValue(m.get("sent"), new TypeReference<>() {});
            Map<String, long[]> fresh = JSON.convertValue(m.get("fresh"), new TypeReference<>() {});
            // the batch that may have reached Redis keeps its id; the rest joins the new counts
            unsent.putAll(sent == null ? Map.of() : sent);
            batchId = unsent.isEmpty() ? null : (String) m.get("batchId");
            if (fresh != null) {
                fresh.forEach((k, v) -> {
                    LongAdder[] a = pending.computeIfAbsent(
                            k, x -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder()});
                    for (int i = 0; i < 3; i++) {
                        a[i].add(v[i]);
                    }
                });
            }
            Files.delete(spill);
            LOG.info("loaded {} usage entries kept at the last stop", unsent.size() + pending.size());
        } catch (IOException | RuntimeException e) {
            LOG.error("could not read the usage kept in {} (left in place): {}", spill, e.toString());
        }
    }
}
