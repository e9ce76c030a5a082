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
import io.twinserve.api.server.infra.JournalFiles;
import io.twinserve.api.server.infra.Redis;
import jakarta.annotation.PreDestroy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
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
 * is dropped, and counted in {@code twinserve_usage_dropped_total}).
 *
 * <p>A crash of the server (kill -9, out of memory) loses none either: every count is appended to a journal in the
 * data folder ({@code usage.journal.*}) before it is counted, every batch before it is sent, and every batch Redis
 * confirmed after. The journal is emptied whenever Redis holds everything; the next start reads the journal of a
 * server that died (its file lock is free) and sends its batches under their ids and its open counts under an id
 * derived from the file, so reading it again after another crash counts nothing twice. The journal is written, not
 * synced: it survives the process, not a power loss of the machine. Spill files of earlier versions ({@code
 * usage.spill.*.json}) are still read.
 *
 * <p>Why it is long: counting, sealing, sending, the journal's records and compaction, shutdown and the takeover of
 * dead servers' journals keep one invariant (every count is in exactly one of pending, open, a sealed batch or Redis,
 * and the journal says which) under two locks; the journal's format and files are in {@link UsageJournal}.
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
    /** Set by the last flush at shutdown. */
    private volatile boolean closed;

    /** Set when the server's journal was closed at shutdown: nothing more is sealed or sent. */
    private volatile boolean released;

    /**
     * This server's journal (see the class comment), or null when the data folder cannot hold one (then counts live
     * in memory only, as logged). Guarded by itself: a count is journaled and added to {@link #pending} under it, and
     * a seal folds and journals under it, so every count before a batch in the journal is in that batch or an
     * earlier one.
     */
    private final UsageJournal journal;

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
        this.journal = UsageJournal.open(this.dataDir);
        if (journal != null) {
            recoverJournals();
        }
    }

    public void record(long keyId, String deployment, String adapter, int promptTokens, int completionTokens) {
        String minute = MINUTE.format(Instant.now());
        if (journal == null) {
            count(minute, keyId, deployment, adapter, promptTokens, completionTokens);
        } else {
            // under the journal's lock: a seal that folds the counts folds every count journaled before it
            Object[] line = {"R", minute, keyId, deployment, adapter, promptTokens, completionTokens};
            synchronized (journal) {
                if (released) {
                    // a request the engines finished after the last flush at shutdown: a journal of its own, which
                    // the next start takes over
                    UsageJournal.writeAlone(dataDir, line);
                } else {
                    journal.append(line);
                    count(minute, keyId, deployment, adapter, promptTokens, completionTokens);
                }
            }
        }
        recorded.incrementAndGet();
    }

    private void count(
            String minute, long keyId, String deployment, String adapter, int promptTokens, int completionTokens) {
        for (String key : entries(minute, keyId, deployment, adapter)) {
            add(key, promptTokens, completionTokens);
        }
    }

    /** The entries one request counts in: its minute's key, deployment and (with one) adapter. */
    static List<String> entries(String minute, long keyId, String deployment, String adapter) {
        String key = minute + ":key:" + keyId;
        String dep = minute + ":deployment:" + deployment;
        return adapter == null
                ? List.of(key, dep)
                : List.of(key, dep, minute + ":adapter:" + deployment + ":" + adapter);
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

    /**
     * Seals what was recorded into batches of at most {@link #BATCH_KEYS} entries, each with a new id, journaled
     * before any is sent.
     */
    private void seal() {
        if (journal == null) {
            fold();
            sealOpen(UUID.randomUUID().toString());
            return;
        }
        synchronized (journal) {
            fold();
            int first = sealed.size();
            // the journal's name, generation and length: no other batch of any journal has it (a batch read back
            // from a dead server's journal is named after that file and its length, past every batch sealed in it)
            sealOpen(
                    journal.usable()
                            ? journal.name() + "@" + journal.size()
                            : UUID.randomUUID().toString());
            if (sealed.size() > first) {
                // one line for all of them: a crash leaves the whole seal in the journal or none of it
                journal.append(UsageJournal.group(List.copyOf(sealed).subList(first, sealed.size())));
            }
        }
    }

    /** Seals {@link #open} into batches {@code base}, {@code base/1}, ... */
    private void sealOpen(String base) {
        List<Batch> out = new ArrayList<>();
        split(base, open, out);
        sealed.addAll(out);
        open.clear();
    }

    /** {@code counts} as batches of at most {@link #BATCH_KEYS} entries named {@code base}, {@code base/1}, ... */
    static void split(String base, Map<String, long[]> counts, List<Batch> out) {
        Map<String, long[]> batch = new HashMap<>();
        int n = 0;
        for (Map.Entry<String, long[]> e : counts.entrySet()) {
            batch.put(e.getKey(), e.getValue());
            if (batch.size() == BATCH_KEYS) {
                out.add(new Batch(n == 0 ? base : base + "/" + n, batch));
                n++;
                batch = new HashMap<>();
            }
        }
        if (!batch.isEmpty()) {
            out.add(new Batch(n == 0 ? base : base + "/" + n, batch));
        }
    }

    /**
     * Sends what has gathered; returns true when Redis has everything recorded before the call. The batches sent
     * before and not confirmed go first, with their ids; what is new is sealed only once they have gone, so that
     * an outage leaves one open map growing, not a batch per second.
     */
    public synchronized boolean flush() {
        if (released) {
            // after shutdown: the journal kept what Redis had not taken, for the next start to send
            return false;
        }
        fold();
        dropExpired();
        if (sealed.isEmpty()) {
            seal();
        }
        // batches kept from before go first; what gathered meanwhile is sealed once they have gone (once per flush:
        // under steady traffic there is always more)
        boolean resealed = false;
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
            if (journal != null) {
                synchronized (journal) {
                    journal.append(new Object[] {"A", b.id()});
                }
            }
            if (sealed.isEmpty() && !resealed) {
                resealed = true;
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
        if (journal != null) {
            synchronized (journal) {
                boolean sent = pending.isEmpty() && open.isEmpty() && sealed.isEmpty();
                if ((sent && journal.grown()) || journal.wantsCompaction()) {
                    // the journal rewritten as what it must still say: its size follows the counts waiting, not
                    // the requests served (under steady traffic, or while Redis is down)
                    fold();
                    journal.compact(List.copyOf(sealed), open);
                }
            }
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
     * The last flush, at shutdown: tries Redis for up to {@code waitMs}; what it did not take stays in the journal for
     * the next start, as does what is recorded after this (a request the engines finished while the server stopped).
     */
    public synchronized void close(long waitMs) {
        long deadline = System.currentTimeMillis() + waitMs;
        try {
            while (!flush()) {
                if (System.currentTimeMillis() > deadline) {
                    logKept();
                    return;
                }
                try {
                    Thread.sleep(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    logKept();
                    return;
                }
            }
        } finally {
            closed = true;
        }
    }

    private void logKept() {
        fold();
        int entries = open.size();
        for (Batch b : sealed) {
            entries += b.counts().size();
        }
        if (journal == null) {
            LOG.error("Redis did not take the last {} usage entries and there is no journal to keep them in", entries);
        } else {
            LOG.warn(
                    "Redis did not take the last usage counts; {} entries kept in {} for the next start",
                    entries,
                    journal.file());
        }
    }

    @PreDestroy
    synchronized void destroy() {
        if (!closed) {
            close(5_000);
        }
        released = true;
        if (journal != null) {
            synchronized (journal) {
                fold();
                journal.close();
                if (open.isEmpty() && sealed.isEmpty()) {
                    try {
                        Files.deleteIfExists(journal.file());
                    } catch (IOException e) {
                        LOG.warn(
                                "could not delete the usage journal {} (Redis has its counts): {}",
                                journal.file(),
                                e.toString());
                    }
                }
            }
        }
    }

    /** Stops as a server that dies would: nothing more is sent, the journal is left for the next start (tests). */
    void abandon() {
        released = true;
        if (journal != null) {
            synchronized (journal) {
                journal.close();
            }
        }
    }

    /**
     * Takes over the journals of servers that died on this data folder (each file whose lock is free): their
     * unconfirmed batches under their ids, their open counts as one more batch named after the file and its length,
     * all written to this server's journal before the file is deleted. A crash in between leaves both files, and the
     * next start finds the same ids in each: Redis applies each batch once.
     */
    private synchronized void recoverJournals() {
        for (Path f : JournalFiles.orphans(dataDir, UsageJournal.PREFIX)) {
            UsageJournal.Recovered r = UsageJournal.read(f);
            if (r == null) {
                continue;
            }
            if (!r.batches().isEmpty()) {
                synchronized (journal) {
                    sealed.addAll(r.batches());
                    journal.append(UsageJournal.group(r.batches()));
                }
            }
            int entries = 0;
            for (Batch b : r.batches()) {
                entries += b.counts().size();
            }
            if (journal.sync()) {
                try {
                    Files.deleteIfExists(f);
                } catch (IOException e) {
                    LOG.warn(
                            "could not delete {} (taken over; a later start sends its batches again under their"
                                    + " ids): {}",
                            f,
                            e.toString());
                }
            }
            if (entries > 0) {
                LOG.info(
                        "took over {} usage entries from the journal of a server that stopped without flushing ({})",
                        entries,
                        f.getFileName());
            }
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
