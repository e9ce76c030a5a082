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
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Usage per key, deployment and adapter per minute, in Redis hashes {@code twinserve:usage:MINUTE:DIMENSION}
 * with fields {@code requests}, {@code prompt_tokens} and {@code completion_tokens}, kept seven days.
 *
 * <p>Counts gather in memory and go to Redis once a second, so the request path does no Redis call. Nothing is
 * lost or counted twice: counts are sealed into batches, each with an id and at most {@link #BATCH_KEYS} entries,
 * applied by a Lua script only if that id was not applied before (ids are remembered as long as the counts are
 * kept), so a batch whose answer was lost (Redis died mid-call) is retried with the same id, in order. While Redis
 * is down counts keep gathering into one open map (bounded: a minute older than the seven days Redis would keep it
 * is dropped, and counted in {@code twinserve_usage_dropped_total}). At shutdown, and for any request that ends
 * after it, whatever Redis did not take goes to a new {@code usage.spill.*.json} in the data folder, each batch
 * with its id; the next start sends them and deletes the files once Redis has taken them, so a crash before that
 * sends them again under the same ids, which Redis ignores.
 */
// created with the context, so its scheduled task never builds it while the context is closing
@Context
public final class UsageStats {
    private static final Logger LOG = LoggerFactory.getLogger(UsageStats.class);
    static final DateTimeFormatter MINUTE =
            DateTimeFormatter.ofPattern("yyyyMMddHHmm").withZone(ZoneOffset.UTC);
    private static final long TTL_SECONDS = 7 * 24 * 3600;
    /**
     * How long a batch id is remembered: as long as the counts themselves, so that a batch retried after an outage
     * (or a stop) of days is still recognised (a batch retried later would add to hashes Redis has dropped anyway).
     */
    private static final long BATCH_ID_TTL_SECONDS = TTL_SECONDS;
    /** The most entries one batch carries: one Lua call over millions of keys would block Redis for seconds. */
    static final int BATCH_KEYS = 5_000;

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

    /** Counts sealed under an id, sent or to be sent in order. */
    record Batch(String id, Map<String, long[]> counts) {}

    private final Redis redis;
    private final Dependencies dependencies;
    private final Path dataDir;
    /**
     * Counts recorded since the last fold: {requests, prompt tokens, completion tokens} per entry, each updated
     * with {@code compute}, which a fold's {@code remove} of the same entry cannot interleave with.
     */
    private final ConcurrentHashMap<String, long[]> pending = new ConcurrentHashMap<>();
    /** Counts folded from {@link #pending}, never sent; guarded by {@code this}. */
    private final Map<String, long[]> open = new HashMap<>();
    /** Batches sealed and not yet confirmed by Redis, oldest first; guarded by {@code this}. */
    private final ArrayDeque<Batch> sealed = new ArrayDeque<>();
    /** Spill files loaded at start, deleted once every batch is confirmed; guarded by {@code this}. */
    private final List<Path> loaded = new ArrayList<>();
    /** Set by the last flush at shutdown: what is recorded after it goes straight to a spill file. */
    private volatile boolean closed;

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
        this.dataDir = Path.of(dataDir);
        this.failures = Counter.builder("twinserve_usage_flush_failures_total")
                .description("usage flushes Redis did not take (retried)")
                .register(metrics);
        this.dropped = Counter.builder("twinserve_usage_dropped_total")
                .description("usage entries dropped after waiting longer than Redis would keep them")
                .register(metrics);
        Gauge.builder("twinserve_usage_buffered_entries", this, UsageStats::buffered)
                .description("usage entries (minute x dimension) waiting for Redis")
                .register(metrics);
        loadSpills();
    }

    public void record(long keyId, String deployment, String adapter, int promptTokens, int completionTokens) {
        String minute = MINUTE.format(Instant.now());
        add(minute + ":key:" + keyId, promptTokens, completionTokens);
        add(minute + ":deployment:" + deployment, promptTokens, completionTokens);
        if (adapter != null) {
            add(minute + ":adapter:" + deployment + ":" + adapter, promptTokens, completionTokens);
        }
        recorded.incrementAndGet();
        if (closed) {
            // a request that ended after the last flush (one the engines finished while the server stopped)
            synchronized (this) {
                fold();
                writeSpill();
            }
        }
    }

    private void add(String key, int prompt, int completion) {
        pending.compute(key, (k, v) -> {
            long[] a = v == null ? new long[3] : v;
            a[0]++;
            a[1] += prompt;
            a[2] += completion;
            return a;
        });
    }

    /** Requests recorded since start (for tests and the fault benchmark). */
    public long recorded() {
        return recorded.get();
    }

    synchronized int buffered() {
        int n = open.size() + pending.size();
        for (Batch b : sealed) {
            n += b.counts().size();
        }
        return n;
    }

    @Scheduled(fixedDelay = "1s")
    void tick() {
        flush();
    }

    /** Moves what was recorded into {@link #open}. */
    private void fold() {
        for (String key : List.copyOf(pending.keySet())) {
            long[] a = pending.remove(key);
            if (a != null) {
                long[] u = open.computeIfAbsent(key, k -> new long[3]);
                u[0] += a[0];
                u[1] += a[1];
                u[2] += a[2];
            }
        }
    }

    /** Seals {@link #open} into batches of at most {@link #BATCH_KEYS} entries, each with a new id. */
    private void seal() {
        Map<String, long[]> batch = new HashMap<>();
        for (Map.Entry<String, long[]> e : open.entrySet()) {
            batch.put(e.getKey(), e.getValue());
            if (batch.size() == BATCH_KEYS) {
                sealed.addLast(new Batch(UUID.randomUUID().toString(), batch));
                batch = new HashMap<>();
            }
        }
        if (!batch.isEmpty()) {
            sealed.addLast(new Batch(UUID.randomUUID().toString(), batch));
        }
        open.clear();
    }

    /**
     * Sends what has gathered; returns true when Redis has everything recorded before the call. The batches sent
     * before and not confirmed go first, with their ids; what is new is sealed only once they have gone, so that
     * an outage leaves one open map growing, not a batch per second.
     */
    public synchronized boolean flush() {
        fold();
        dropExpired();
        if (sealed.isEmpty()) {
            seal();
        }
        while (!sealed.isEmpty()) {
            Batch b = sealed.peekFirst();
            try {
                dependencies.redis(() -> apply(b.id(), b.counts()).get(10, TimeUnit.SECONDS));
            } catch (RuntimeException e) {
                failures.increment();
                LOG.debug(
                        "usage flush of {} entries did not reach Redis: {}",
                        b.counts().size(),
                        e.toString());
                return false;
            }
            sealed.pollFirst();
            if (sealed.isEmpty() && !open.isEmpty()) {
                seal();
            }
        }
        if (!loaded.isEmpty()) {
            // every batch kept at the last stop has been taken
            for (Path f : loaded) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    LOG.warn("could not delete {} (its batches are applied; a later start skips them): {}", f, e);
                }
            }
            loaded.clear();
        }
        return pending.isEmpty();
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

    /**
     * The bound on what waits: a minute Redis would no longer keep is dropped and counted, from the open counts and
     * from sealed batches alike (a sealed batch Redis applied already is skipped whatever it holds; one it did not
     * would add to hashes Redis has dropped).
     */
    private void dropExpired() {
        String oldest = MINUTE.format(Instant.now().minusSeconds(TTL_SECONDS));
        int gone = drop(open, oldest);
        for (Batch b : sealed) {
            gone += drop(b.counts(), oldest);
        }
        sealed.removeIf(b -> b.counts().isEmpty());
        dropped.increment(gone);
    }

    private static int drop(Map<String, long[]> counts, String oldest) {
        int before = counts.size();
        counts.keySet().removeIf(k -> k.substring(0, 12).compareTo(oldest) < 0);
        return before - counts.size();
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
     * The last flush, at shutdown: tries Redis for up to {@code waitMs}, then writes what it did not take to a spill
     * file, so a stop while Redis is away loses nothing; what is recorded after this goes to spill files too.
     */
    public synchronized void close(long waitMs) {
        long deadline = System.currentTimeMillis() + waitMs;
        try {
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
        } finally {
            closed = true;
        }
    }

    @PreDestroy
    void destroy() {
        if (!closed) {
            close(5_000);
        } else {
            synchronized (this) {
                fold();
                writeSpill();
            }
        }
    }

    /** A spill file's content: the batches Redis has not confirmed, each with its id. */
    private record Spilled(List<Batch> batches) {}

    /**
     * Writes every count Redis has not confirmed to a new spill file (never replacing one written before): the
     * sealed batches with their ids, the open counts sealed now. Kept in memory if the file cannot be written.
     */
    private void writeSpill() {
        seal();
        if (sealed.isEmpty()) {
            return;
        }
        Path file = dataDir.resolve("usage.spill." + System.currentTimeMillis() + "-" + UUID.randomUUID() + ".json");
        try {
            Files.createDirectories(dataDir);
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(JSON.writeValueAsBytes(new Spilled(List.copyOf(sealed)))));
                ch.force(true);
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            int entries = 0;
            for (Batch b : sealed) {
                entries += b.counts().size();
            }
            LOG.warn(
                    "Redis did not take the last usage counts; {} entries kept in {} for the next start",
                    entries,
                    file);
            sealed.clear();
        } catch (IOException | RuntimeException e) {
            LOG.error("could not keep the usage counts Redis did not take in {}: {}", file, e.toString());
        }
    }

    /**
     * Loads the spill files of earlier stops: their batches are sent first, under their ids, and the files deleted
     * once Redis has taken them all. A file written before batches existed ({@code batchId}, {@code sent},
     * {@code fresh}) is read as two batches, the fresh counts under an id derived from the file, so that reading it
     * again after a crash does not count them twice.
     */
    private synchronized void loadSpills() {
        List<Path> files = new ArrayList<>();
        try (var list = Files.list(dataDir)) {
            list.filter(f -> {
                        String n = f.getFileName().toString();
                        return n.startsWith("usage.spill") && n.endsWith(".json");
                    })
                    .sorted()
                    .forEach(files::add);
        } catch (NoSuchFileException e) {
            return;
        } catch (IOException e) {
            LOG.error("could not list {} for usage kept at the last stop: {}", dataDir, e.toString());
            return;
        }
        int entries = 0;
        for (Path f : files) {
            try {
                Map<String, Object> m = JSON.readValue(f.toFile(), new TypeReference<>() {});
                List<Batch> batches = new ArrayList<>();
                if (m.containsKey("batches")) {
                    batches.addAll(JSON.convertValue(m.get("batches"), new TypeReference<List<Batch>>() {}));
                } else {
                    Map<String, long[]> sent = JSON.convertValue(m.get("sent"), new TypeReference<>() {});
                    Map<String, long[]> fresh = JSON.convertValue(m.get("fresh"), new TypeReference<>() {});
                    if (sent != null && !sent.isEmpty()) {
                        Object id = m.get("batchId");
                        batches.add(new Batch(id == null ? "legacy-sent-" + fileId(f) : id.toString(), sent));
                    }
                    if (fresh != null && !fresh.isEmpty()) {
                        batches.add(new Batch("legacy-fresh-" + fileId(f), fresh));
                    }
                }
                for (Batch b : batches) {
                    sealed.addLast(new Batch(b.id(), new HashMap<>(b.counts())));
                    entries += b.counts().size();
                }
                loaded.add(f);
            } catch (IOException | RuntimeException e) {
                LOG.error("could not read the usage kept in {} (left in place): {}", f, e.toString());
            }
        }
        if (!loaded.isEmpty()) {
            LOG.info("loaded {} usage entries kept at the last stop from {} file(s)", entries, loaded.size());
        }
    }

    /** A stable id of a spill file's content, for batches stored without one. */
    private static String fileId(Path f) throws IOException {
        return UUID.nameUUIDFromBytes(Files.readAllBytes(f)).toString();
    }
}
