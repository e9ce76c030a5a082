package io.twinserve.api.server.interactions;

import static io.twinserve.api.db.generated.Tables.INTERACTIONS;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micronaut.context.annotation.Value;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jooq.DSLContext;
import org.jooq.InsertValuesStep15;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes interactions to PostgreSQL in batches, off the request path. Nothing is lost: while the database
 * is unavailable rows wait in a bounded queue and are retried with backoff; when the queue is full they
 * go to a spill file in the data folder ({@code interactions.spill.jsonl}), which is loaded back once the
 * database answers again. Shutdown flushes everything.
 *
 * <p>A row the database refuses for itself (a data or constraint error, SQLSTATE class 22 or 23) must not hold up
 * the others forever: its batch is written row by row and the refused row goes, with the error, to {@code
 * interactions.rejected.jsonl} (logged, counted in {@code twinserve_interactions_rejected_total}). A NUL character,
 * which PostgreSQL text cannot hold, is stored as U+FFFD. A spill-file line that cannot be read (a crash mid-write)
 * goes to {@code interactions.spill.bad.jsonl} and the other lines are loaded.
 *
 * <p>A server that dies (kill -9, out of memory) loses none either: each interaction is appended to the server's
 * journal ({@link InteractionJournal}) before it is queued, and the next start moves a dead server's journal into
 * the spill file.
 *
 * <p>Why it is long: the queue, the writer's loop, the spill file with its loading, the refused rows and the journal's
 * takeover share one invariant (every interaction is in exactly one of them until it is in PostgreSQL) and two locks;
 * the journal's files are in {@link InteractionJournal}
 */
@Singleton
public final class InteractionWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(InteractionWriter.class);
    static final int BATCH = 2000;
    /** A journal segment past this size is retired at the writer's next batch (see {@link InteractionJournal}). */
    static final long SEGMENT_BYTES = 16L << 20;

    private static final ObjectMapper JSON = new ObjectMapper()
            .registerModule(new JavaTimeModule())
            .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private final DSLContext db;
    private final BlockingQueue<Interaction> queue;
    private final Path spill;
    private final Thread thread;
    private final AtomicLong accepted = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong spilled = new AtomicLong();
    private final Counter writeFailures;
    private final Counter rejectedRows;
    private final Path rejected;
    private final Path badLines;
    private volatile boolean closing;
    private volatile boolean closed;
    private final Object spillLock = new Object();
    /** Request ids in the file of refused rows (guarded by {@link #spillLock}; null until the first refusal). */
    private Set<String> rejectedIds;
    /** The journal (null: none, logged), guarded by {@link #journalLock} with the queue's offers and drains. */
    private final InteractionJournal journal;

    private final Object journalLock = new Object();
    /** Estimated memory of the interactions waiting in the queue or in the writer's batch, in bytes. */
    private final AtomicLong queuedBytes = new AtomicLong();

    private final long maxQueuedBytes;
    /** The size past which a journal segment is retired at the writer's next batch, even while a backlog lasts. */
    private final long segmentBytes;
    /** Rows queued so far (guarded by {@link #journalLock}); the queue is first in, first out. */
    private long queuedRows;
    /** Rows taken from the queue so far (the writer's thread): once its batch is written, so are they all. */
    private long takenRows;
    /** Set when rows could not be written to the spill file: the journal is then kept at shutdown. */
    private volatile boolean spillFailed;
    /** Set when the writer's loop ended by returning (not killed by an error holding an unwritten batch). */
    private volatile boolean writerReturned;

    public InteractionWriter(DSLContext db, MeterRegistry metrics, String dataDir, int capacity) {
        this(db, metrics, dataDir, capacity, 256);
    }

    /**
     * @param capacity the most interactions that wait in memory for PostgreSQL
     * @param queueMemoryMb the most memory their texts may take there (estimated at two bytes a character); past
     *     either bound they go to the spill file, so an outage with long prompts cannot exhaust the heap
     */
    @jakarta.inject.Inject
    public InteractionWriter(
            DSLContext db,
            MeterRegistry metrics,
            @Value("${twinserve.data-dir}") String dataDir,
            @Value("${twinserve.interactions.queue-capacity:200000}") int capacity,
            @Value("${twinserve.interactions.queue-memory-mb:256}") long queueMemoryMb) {
        this(db, metrics, dataDir, capacity, queueMemoryMb, SEGMENT_BYTES);
    }

    /** As the server's constructor, with the journal's segment bound in bytes (tests make it small). */
    InteractionWriter(
            DSLContext db, MeterRegistry metrics, String dataDir, int capacity, long queueMemoryMb, long segmentBytes) {
        this.db = db;
        this.segmentBytes = segmentBytes;
        this.maxQueuedBytes = queueMemoryMb << 20;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.spill = Path.of(dataDir).resolve("interactions.spill.jsonl");
        this.rejected = Path.of(dataDir).resolve("interactions.rejected.jsonl");
        this.badLines = Path.of(dataDir).resolve("interactions.spill.bad.jsonl");
        Gauge.builder("twinserve_interactions_pending", queue, BlockingQueue::size)
                .description("interactions waiting to be written to PostgreSQL")
                .register(metrics);
        Gauge.builder("twinserve_interactions_spilled", spilled, AtomicLong::get)
                .description("interactions in the spill file, waiting for PostgreSQL")
                .register(metrics);
        this.writeFailures = Counter.builder("twinserve_interactions_write_failures_total")
                .description("failed batch writes to PostgreSQL (retried)")
                .register(metrics);
        this.rejectedRows = Counter.builder("twinserve_interactions_rejected_total")
                .description("interactions PostgreSQL refused for themselves, kept in interactions.rejected.jsonl")
                .register(metrics);
        this.journal = InteractionJournal.open(Path.of(dataDir));
        takeOverJournals(Path.of(dataDir));
        this.thread =
                Thread.ofPlatform().name("twinserve-interactions").daemon(true).start(this::run);
    }

    /**
     * Appends the journals of servers that died on this data folder to the spill file (loaded like any spill; rows
     * already written are skipped by their request id), then deletes them. A line cut short (the machine stopped
     * mid-write) goes to {@code interactions.spill.bad.jsonl}.
     */
    private void takeOverJournals(Path dataDir) {
        for (Path f : InteractionJournal.orphans(dataDir)) {
            try (java.io.RandomAccessFile in = new java.io.RandomAccessFile(f.toFile(), "r")) {
                // whole lines only: what follows the last newline was cut short when the machine stopped
                long whole = in.length();
                while (whole > 0) {
                    in.seek(whole - 1);
                    if (in.read() == '\n') {
                        break;
                    }
                    whole--;
                }
                long lines = 0;
                synchronized (spillLock) {
                    boolean cut = endsMidLine(spill);
                    try (java.io.FileOutputStream out = new java.io.FileOutputStream(spill.toFile(), true)) {
                        if (cut) {
                            out.write('\n');
                        }
                        in.seek(0);
                        byte[] buffer = new byte[1 << 16];
                        long left = whole;
                        while (left > 0) {
                            int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                            if (n < 0) {
                                break;
                            }
                            for (int i = 0; i < n; i++) {
                                lines += buffer[i] == '\n' ? 1 : 0;
                            }
                            out.write(buffer, 0, n);
                            left -= n;
                        }
                        out.getFD().sync();
                    }
                    if (whole < in.length()) {
                        byte[] tail = new byte[(int) Math.min(in.length() - whole, 1 << 20)];
                        in.seek(whole);
                        in.readFully(tail);
                        Files.write(badLines, tail, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
                        Files.write(badLines, new byte[] {'\n'}, StandardOpenOption.APPEND);
                        LOG.error("{}: its last line was cut short; kept in {}", f, badLines);
                    }
                    spilled.addAndGet(lines);
                }
                Files.delete(f);
                LOG.info(
                        "took over {} interaction(s) from the journal of a server that stopped without writing them"
                                + " ({})",
                        lines,
                        f.getFileName());
            } catch (IOException | RuntimeException e) {
                LOG.error("could not take over the interaction journal {} (left in place): {}", f, e.toString());
            }
        }
    }

    /** Journals and queues an interaction; never blocks the caller and never drops it. */
    public void record(Interaction i) {
        accepted.incrementAndGet();
        byte[] json = null;
        if (journal != null) {
            try {
                json = JSON.writeValueAsBytes(i);
            } catch (IOException e) {
                LOG.error("could not journal interaction {}: {}", i.requestId(), e.toString());
            }
        }
        boolean afterStop = false;
        synchronized (journalLock) {
            if (closed) {
                afterStop = true;
            } else {
                if (json != null) {
                    journal.append(json);
                }
                long size = sizeOf(i);
                boolean queued = queuedBytes.get() + size <= maxQueuedBytes && queue.offer(i);
                if (queued) {
                    queuedBytes.addAndGet(size);
                    queuedRows++;
                } else {
                    // the queue is full: the spill file, loaded into PostgreSQL when the database keeps up again.
                    // Written under the journal's lock: the segment that holds this row cannot be retired and deleted
                    // (the writer does both under this lock) before the row is in the spill file
                    spill(List.of(i));
                }
            }
        }
        if (afterStop) {
            // after the writer stopped (a request that outlived the shutdown's grace period): the spill file, loaded
            // at the next start (an offer made before the stop is drained by close, which sets closed under the
            // same lock; the journal is not deleted after a spill failed)
            spill(List.of(i));
        }
    }

    /** An interaction's memory while it waits, estimated: its texts at two bytes a character, and its fields. */
    private static long sizeOf(Interaction i) {
        long chars = (i.promptText() == null ? 0 : i.promptText().length())
                + (i.completionText() == null ? 0 : i.completionText().length());
        return 2 * chars + 256;
    }

    /** Rows that left memory (written or spilled). */
    private void release(List<Interaction> rows) {
        long size = 0;
        for (Interaction i : rows) {
            size += sizeOf(i);
        }
        queuedBytes.addAndGet(-size);
    }

    /** Interactions in the spill file, waiting for PostgreSQL. */
    public long spilled() {
        return spilled.get();
    }

    public long written() {
        return written.get();
    }

    public int pending() {
        return queue.size();
    }

    private void run() {
        try {
            loop();
            writerReturned = true;
        } catch (Error e) {
            LOG.error("the interaction writer stopped; rows it held stay in the journal for the next start", e);
            throw e;
        }
    }

    private void loop() {
        List<Interaction> batch = new ArrayList<>(BATCH);
        long backoffMs = 100;
        while (true) {
            try {
                if (batch.isEmpty()) {
                    Interaction first = queue.poll(50, TimeUnit.MILLISECONDS);
                    if (first == null) {
                        if (closing && queue.isEmpty()) {
                            return;
                        }
                        reloadSpill();
                        continue;
                    }
                    batch.add(first);
                    synchronized (journalLock) {
                        queue.drainTo(batch, BATCH - 1);
                        takenRows += batch.size();
                        if (journal != null && (queue.isEmpty() || journal.currentBytes() >= segmentBytes)) {
                            // every row of the current segment was queued among the first queuedRows (or spilled)
                            journal.rotate(queuedRows);
                        }
                    }
                }
                writeOrSplit(batch);
                written.addAndGet(batch.size());
                release(batch);
                batch.clear();
                if (journal != null && !spillFailed) {
                    synchronized (journalLock) {
                        // first in, first out: with this batch, every row taken so far is written (a row that could
                        // not be spilled keeps every segment on disk, for the next start)
                        journal.deleteRetired(takenRows);
                    }
                }
                backoffMs = 100;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (RuntimeException e) {
                failures.incrementAndGet();
                writeFailures.increment();
                LOG.warn(
                        "writing {} interactions failed ({}); retrying in {} ms",
                        batch.size(),
                        root(e).getMessage(),
                        backoffMs);
                if (closing) {
                    // the database is gone at shutdown: keep the rows on disk for the next start
                    spill(batch);
                    release(batch);
                    batch.clear();
                    List<Interaction> rest = new ArrayList<>();
                    queue.drainTo(rest);
                    spill(rest);
                    return;
                }
                try {
                    Thread.sleep(backoffMs);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
                backoffMs = Math.min(backoffMs * 2, 5_000);
            }
        }
    }

    /**
     * Writes a batch; when the database refuses a row for itself, writes them one by one and sets the refused
     * ones aside. An outage (anything else) is thrown, and the whole batch retried (written rows are skipped then).
     */
    private void writeOrSplit(List<Interaction> batch) {
        try {
            write(batch);
        } catch (RuntimeException e) {
            if (!rowError(e)) {
                throw e;
            }
            for (Interaction i : batch) {
                try {
                    write(List.of(i));
                } catch (RuntimeException r) {
                    if (!rowError(r)) {
                        throw r;
                    }
                    reject(i, r);
                }
            }
        }
    }

    /** Whether the database refused a row for what it holds (SQLSTATE class 22, data, or 23, constraints). */
    static boolean rowError(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof java.sql.SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                return state.startsWith("22") || state.startsWith("23");
            }
        }
        return false;
    }

    private void reject(Interaction i, Throwable why) {
        String error = String.valueOf(root(why).getMessage());
        synchronized (spillLock) {
            if (rejectedIds == null) {
                rejectedIds = rejectedIds();
            }
            if (rejectedIds.contains(i.requestId())) {
                // refused again after a takeover or a spill's reload: kept once already
                LOG.info("PostgreSQL refused interaction {} again; it is already in {}", i.requestId(), rejected);
                return;
            }
            rejectedRows.increment();
            LOG.error("PostgreSQL refused interaction {} ({}); kept in {}", i.requestId(), error, rejected);
            try {
                Files.writeString(
                        rejected,
                        JSON.writeValueAsString(java.util.Map.of("error", error, "interaction", i)) + "\n",
                        StandardCharsets.UTF_8,
                        StandardOpenOption.CREATE,
                        StandardOpenOption.APPEND);
                // known as kept once written: a refusal that could not be written is tried again next time
                rejectedIds.add(i.requestId());
            } catch (IOException e) {
                LOG.error("could not keep refused interaction {} in {}: {}", i.requestId(), rejected, e.toString());
            }
        }
    }

    /**
     * The request ids in the file of refused rows (read once, at the first refusal after the start: refusals are
     * rare, and a row of a dead server's journal, or of a spill loaded twice, may be refused a second time).
     */
    private Set<String> rejectedIds() {
        Set<String> ids = new HashSet<>();
        if (!Files.exists(rejected)) {
            return ids;
        }
        try (var lines = Files.lines(rejected, StandardCharsets.UTF_8)) {
            lines.forEach(line -> {
                try {
                    String id = JSON.readTree(line)
                            .path("interaction")
                            .path("requestId")
                            .asText(null);
                    if (id != null) {
                        ids.add(id);
                    }
                } catch (IOException | RuntimeException e) {
                    // a line cut by a crash names no row
                }
            });
        } catch (IOException | java.io.UncheckedIOException e) {
            LOG.warn("could not read {} for the rows it holds: {}", rejected, e.toString());
        }
        return ids;
    }

    private static Throwable root(Throwable e) {
        Throwable r = e;
        while (r.getCause() != null) {
            r = r.getCause();
        }
        return r;
    }

    /** Text PostgreSQL can hold: a NUL character (valid in JSON, refused in text) becomes U+FFFD. */
    private static String text(String s) {
        return s == null || s.indexOf('\u0000') < 0 ? s : s.replace('\u0000', '\uFFFD');
    }

    private void write(List<Interaction> batch) {
        InsertValuesStep15<
                        ?,
                        String,
                        String,
                        String,
                        String,
                        Long,
                        Integer,
                        Integer,
                        Double,
                        Double,
                        Integer,
                        String,
                        OffsetDateTime,
                        OffsetDateTime,
                        String,
                        String>
                insert = db.insertInto(
                        INTERACTIONS,
                        INTERACTIONS.REQUEST_ID,
                        INTERACTIONS.ENDPOINT,
                        INTERACTIONS.DEPLOYMENT,
                        INTERACTIONS.ADAPTER,
                        INTERACTIONS.KEY_ID,
                        INTERACTIONS.PROMPT_TOKENS,
                        INTERACTIONS.COMPLETION_TOKENS,
                        INTERACTIONS.TTFT_MS,
                        INTERACTIONS.LATENCY_MS,
                        INTERACTIONS.STATUS,
                        INTERACTIONS.FINISH_REASON,
                        INTERACTIONS.STARTED_AT,
                        INTERACTIONS.FINISHED_AT,
                        INTERACTIONS.PROMPT_TEXT,
                        INTERACTIONS.COMPLETION_TEXT);
        for (Interaction i : batch) {
            insert = insert.values(
                    i.requestId(),
                    i.endpoint(),
                    i.deployment(),
                    i.adapter(),
                    i.keyId(),
                    i.promptTokens(),
                    i.completionTokens(),
                    i.ttftMs(),
                    i.latencyMs(),
                    i.status(),
                    i.finishReason(),
                    i.startedAt(),
                    i.finishedAt(),
                    text(i.promptText()),
                    text(i.completionText()));
        }
        // a retried batch may have reached the database before its answer was lost: the request id decides
        insert.onConflict(INTERACTIONS.REQUEST_ID).doNothing().execute();
    }

    /** Appends rows to the spill file; false (logged) when they could not be written. */
    private boolean spill(List<Interaction> rows) {
        if (rows.isEmpty()) {
            return true;
        }
        synchronized (spillLock) {
            boolean cut = endsMidLine(spill);
            try (BufferedWriter w = Files.newBufferedWriter(
                    spill, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND)) {
                if (cut) {
                    // the last write stopped mid-line (a crash, a full disk): end that line, so this one stays whole
                    w.newLine();
                }
                for (Interaction i : rows) {
                    w.write(JSON.writeValueAsString(i));
                    w.newLine();
                }
                spilled.addAndGet(rows.size());
                return true;
            } catch (IOException e) {
                LOG.error("could not spill {} interactions to {}: {}", rows.size(), spill, e.toString());
                spillFailed = true;
                return false;
            }
        }
    }

    private static boolean endsMidLine(Path file) {
        try (var ch = java.nio.channels.FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            if (size == 0) {
                return false;
            }
            java.nio.ByteBuffer last = java.nio.ByteBuffer.allocate(1);
            ch.read(last, size - 1);
            return last.get(0) != '\n';
        } catch (java.nio.file.NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            return true;
        }
    }

    /**
     * Moves spilled rows back into the database once it answers. The spill file is first renamed to {@code
     * interactions.spill.loading.jsonl} under the spill lock, then loaded outside it, so that a request whose row
     * spills meanwhile (the queue full) appends to a new spill file at once instead of waiting for the database; a
     * loading file left by a failed attempt or a crash is loaded first. A line that cannot be read (cut by a crash) is
     * set aside in {@code interactions.spill.bad.jsonl}, logged, and the others are loaded.
     */
    private void reloadSpill() {
        Path loading = spill.resolveSibling("interactions.spill.loading.jsonl");
        synchronized (spillLock) {
            if (!Files.exists(loading)) {
                if (!Files.exists(spill)) {
                    return;
                }
                try {
                    Files.move(spill, loading, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
                } catch (IOException e) {
                    LOG.debug("spilled interactions stay on disk: {}", e.toString());
                    return;
                }
            }
        }
        try {
            List<Interaction> rows = new ArrayList<>();
            List<String> bad = new ArrayList<>();
            // decoded leniently: a line cut mid-character by a crash is unreadable JSON, set aside below, instead of
            // an error that would stop the whole file (and every spill after it) from ever loading
            try (var in = new java.io.BufferedReader(
                    new java.io.InputStreamReader(Files.newInputStream(loading), StandardCharsets.UTF_8))) {
                for (String line = in.readLine(); line != null; line = in.readLine()) {
                    if (line.isBlank()) {
                        continue;
                    }
                    try {
                        rows.add(JSON.readValue(line, Interaction.class));
                    } catch (IOException e) {
                        bad.add(line);
                    }
                }
            }
            for (int from = 0; from < rows.size(); from += BATCH) {
                writeOrSplit(rows.subList(from, Math.min(rows.size(), from + BATCH)));
            }
            if (!bad.isEmpty()) {
                synchronized (spillLock) {
                    Files.write(
                            badLines,
                            bad,
                            StandardCharsets.UTF_8,
                            StandardOpenOption.CREATE,
                            StandardOpenOption.APPEND);
                }
                LOG.error(
                        "{} line(s) of {} could not be read (cut by a crash?); kept in {}",
                        bad.size(),
                        spill,
                        badLines);
            }
            written.addAndGet(rows.size());
            Files.delete(loading);
            // (a spill file of an earlier run was never counted here)
            long loaded = rows.size() + bad.size();
            spilled.updateAndGet(v -> Math.max(0, v - loaded));
            LOG.info("loaded {} spilled interactions into PostgreSQL", rows.size());
        } catch (IOException | RuntimeException e) {
            LOG.debug("spilled interactions stay on disk: {}", e.toString());
        }
    }

    /** Waits until everything recorded so far, spilled rows included, is in PostgreSQL (tests, benchmarks). */
    public void flush(long timeoutMs) throws InterruptedException {
        long deadline = System.currentTimeMillis() + timeoutMs;
        long target = accepted.get();
        while (written.get() < target) {
            if (System.currentTimeMillis() > deadline) {
                return;
            }
            Thread.sleep(5);
        }
    }

    /** Stops as a server that dies would: the queue is dropped and the journal left for the next start (tests). */
    void abandon() throws InterruptedException {
        thread.interrupt();
        thread.join(10_000);
        synchronized (journalLock) {
            closed = true;
            queue.clear();
            if (journal != null) {
                journal.close(false);
            }
        }
    }

    @PreDestroy
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closing = true;
        try {
            thread.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (journalLock) {
            closed = true;
        }
        // whatever the thread did not take (it gave up on an unreachable database, or ran out of time)
        List<Interaction> rest = new ArrayList<>();
        queue.drainTo(rest);
        boolean kept = spill(rest);
        if (journal != null) {
            synchronized (journalLock) {
                // a writer still at work (past its 30 s) holds rows that are neither written nor spilled
                journal.close(kept && !spillFailed && writerReturned && !thread.isAlive());
            }
        }
    }
}
