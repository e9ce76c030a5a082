package io.twinserve.api.server.interactions;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.twinserve.api.server.infra.DataServices;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.time.OffsetDateTime;
import org.flywaydb.core.Flyway;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Interactions are never lost: while their table cannot be written (the database refusing, as when it is
 * briefly unavailable) rows wait and are retried, overflow goes to the spill file, and everything reaches
 * PostgreSQL once it accepts writes again. A real PostgreSQL (TWINSERVE_TEST_DATABASE_URL or embedded).
 */
class InteractionWriterTest {
    @TempDir
    static Path dir;

    static DataServices services;
    static DataServices.Database db;

    @BeforeAll
    static void database() {
        String url = System.getenv("TWINSERVE_TEST_DATABASE_URL");
        if (url != null && !url.isBlank()) {
            db = DataServices.parseDatabaseUrl(url);
        } else {
            services = DataServices.embeddedDatabase(dir);
            db = services.database();
        }
        Flyway.configure()
                .dataSource(db.jdbcUrl(), db.user(), db.password())
                .locations("classpath:db/migration")
                .cleanDisabled(false)
                .load()
                .migrate();
    }

    @AfterAll
    static void stop() {
        if (services != null) {
            services.close();
        }
    }

    private static Interaction interaction(String id) {
        OffsetDateTime now = OffsetDateTime.now();
        return new Interaction(
                id, "chat.completions", "d", null, 1L, 10, 5, 1.5, 3.0, 200, "length", now, now, null, null);
    }

    private static long count(Connection c, String prefix) throws Exception {
        try (ResultSet r = c.createStatement()
                .executeQuery("select count(*) from interactions where request_id like '" + prefix + "%'")) {
            r.next();
            return r.getLong(1);
        }
    }

    @Test
    void rowsWaitAndSpillWhileTheTableRefusesWritesThenAllArrive() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            SimpleMeterRegistry metrics = new SimpleMeterRegistry();
            // a queue of 5 so that 40 rows overflow into the spill file
            InteractionWriter writer = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES), metrics, data.toString(), 5);
            try {
                c.createStatement().execute("alter table interactions rename to interactions_away");
                for (int i = 0; i < 40; i++) {
                    writer.record(interaction("outage-" + i));
                }
                // the writer keeps failing and retrying: nothing is written, nothing is dropped
                while (metrics.counter("twinserve_interactions_write_failures_total")
                                .count()
                        < 2) {
                    Thread.sleep(20);
                }
                assertThat(Files.exists(data.resolve("interactions.spill.jsonl")))
                        .isTrue();
                assertThat(writer.written()).isZero();
                c.createStatement().execute("alter table interactions_away rename to interactions");
                writer.flush(60_000);
                assertThat(count(c, "outage-")).isEqualTo(40);
                assertThat(Files.exists(data.resolve("interactions.spill.jsonl")))
                        .isFalse();
                assertThat(metrics.get("twinserve_interactions_spilled").gauge().value())
                        .isZero();
            } finally {
                writer.close();
            }
        }
    }

    @Test
    void aRowTheDatabaseRefusesIsSetAsideAndTheOthersAreWrittenAndANulIsStored() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data3"));
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            SimpleMeterRegistry metrics = new SimpleMeterRegistry();
            // a row the table refuses for itself (a check constraint: SQLSTATE 23514), as a value it cannot hold would
            // be
            c.createStatement()
                    .execute("alter table interactions add constraint no_poison check (request_id not like 'poison%')");
            InteractionWriter writer = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES), metrics, data.toString(), 10_000);
            try {
                for (int i = 0; i < 5; i++) {
                    writer.record(interaction("row-" + i));
                }
                writer.record(interaction("poison-1"));
                OffsetDateTime now = OffsetDateTime.now();
                writer.record(new Interaction(
                        "row-nul",
                        "completions",
                        "d",
                        null,
                        1L,
                        1,
                        1,
                        1.0,
                        2.0,
                        200,
                        "stop",
                        now,
                        now,
                        "a\u0000b",
                        null));
                writer.flush(60_000);
                assertThat(count(c, "row-")).isEqualTo(6);
                assertThat(count(c, "poison-")).isZero();
                assertThat(metrics.counter("twinserve_interactions_rejected_total")
                                .count())
                        .isEqualTo(1);
                assertThat(Files.readString(data.resolve("interactions.rejected.jsonl")))
                        .contains("poison-1")
                        .contains("no_poison");
                try (ResultSet r = c.createStatement()
                        .executeQuery("select prompt_text from interactions where request_id = 'row-nul'")) {
                    r.next();
                    assertThat(r.getString(1)).isEqualTo("a\uFFFDb");
                }
            } finally {
                writer.close();
                c.createStatement().execute("alter table interactions drop constraint no_poison");
            }
        }
    }

    /**
     * A server that set a refused row aside and died before its journal segment was deleted leaves the row in both:
     * the next start takes the journal over, the row is refused again, and the file of refused rows keeps it once.
     */
    @Test
    void aRefusedRowTakenOverFromADeadServersJournalIsKeptOnce() throws Exception {
        Path data = Files.createDirectories(dir.resolve("refused-twice"));
        Interaction poison = interaction("poison-2");
        Files.writeString(
                data.resolve("interactions.rejected.jsonl"),
                JSON_FOR_TEST.writeValueAsString(java.util.Map.of("error", "refused before", "interaction", poison))
                        + "\n");
        // the dead server's journal: the refused row and one it had not written
        Files.writeString(
                data.resolve("interactions.journal.1-dead"),
                JSON_FOR_TEST.writeValueAsString(poison) + "\n"
                        + JSON_FOR_TEST.writeValueAsString(interaction("after-death-1")) + "\n");
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            c.createStatement()
                    .execute("alter table interactions add constraint no_poison check (request_id not like 'poison%')");
            SimpleMeterRegistry metrics = new SimpleMeterRegistry();
            InteractionWriter writer = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES), metrics, data.toString(), 10_000);
            try {
                awaitUntil(() -> count(c, "after-death-") >= 1);
                writer.flush(60_000);
                assertThat(count(c, "after-death-")).isEqualTo(1);
                assertThat(Files.readAllLines(data.resolve("interactions.rejected.jsonl")))
                        .as("the refused row, once")
                        .hasSize(1)
                        .allMatch(l -> l.contains("poison-2"));
                assertThat(metrics.counter("twinserve_interactions_rejected_total")
                                .count())
                        .isZero();
            } finally {
                writer.close();
                c.createStatement().execute("alter table interactions drop constraint no_poison");
            }
        }
    }

    @Test
    void aSpillLineCutByACrashIsSetAsideAndTheRestLoaded() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data4"));
        Path spill = data.resolve("interactions.spill.jsonl");
        String whole = new com.fasterxml.jackson.databind.ObjectMapper()
                .registerModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule())
                .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                .writeValueAsString(interaction("cut-whole"));
        // a whole line, then one a crash cut short (no end of line)
        Files.writeString(
                spill, whole + "\n" + whole.substring(0, whole.length() / 2).replace("cut-whole", "cut-half"));
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            c.createStatement().execute("alter table interactions rename to interactions_away");
            InteractionWriter first = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES), new SimpleMeterRegistry(), data.toString(), 10);
            first.close();
            // after the writer stopped: straight to the spill file, on a line of its own
            first.record(interaction("cut-after"));
            c.createStatement().execute("alter table interactions_away rename to interactions");
            InteractionWriter second = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES), new SimpleMeterRegistry(), data.toString(), 10);
            try {
                awaitUntil(() -> !Files.exists(spill));
                assertThat(spill).doesNotExist();
                assertThat(count(c, "cut-whole")).isEqualTo(1);
                assertThat(count(c, "cut-after")).isEqualTo(1);
                assertThat(count(c, "cut-half")).isZero();
                assertThat(Files.readAllLines(data.resolve("interactions.spill.bad.jsonl")))
                        .singleElement()
                        .asString()
                        .contains("cut-half");
            } finally {
                second.close();
            }
        }
    }

    @Test
    void closingFlushesWhatIsQueued() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data2"));
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            InteractionWriter writer = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES),
                    new SimpleMeterRegistry(),
                    data.toString(),
                    10_000);
            for (int i = 0; i < 5_000; i++) {
                writer.record(interaction("close-" + i));
            }
            writer.close();
            assertThat(count(c, "close-")).isEqualTo(5_000);
        }
    }

    /**
     * A server killed while PostgreSQL was away, with interactions queued in memory: the next start on the same data
     * folder writes every one of them (from the dead server's journal), once.
     */
    @Test
    void aKilledServersQueuedInteractionsAreWrittenByTheNextStart() throws Exception {
        Path data = Files.createDirectories(dir.resolve("killed"));
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection gone = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            // its database connection is lost: every write fails and is retried, the rows wait in the queue
            gone.close();
            SimpleMeterRegistry metrics = new SimpleMeterRegistry();
            InteractionWriter first =
                    new InteractionWriter(DSL.using(gone, SQLDialect.POSTGRES), metrics, data.toString(), 10_000);
            for (int i = 0; i < 30; i++) {
                first.record(interaction("killed-" + i));
            }
            while (metrics.counter("twinserve_interactions_write_failures_total")
                            .count()
                    < 1) {
                Thread.sleep(20);
            }
            first.abandon();
            InteractionWriter next = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES),
                    new SimpleMeterRegistry(),
                    data.toString(),
                    10_000);
            try {
                awaitUntil(() -> count(c, "killed-") >= 30);
                assertThat(count(c, "killed-")).isEqualTo(30);
                next.record(interaction("killed-after"));
            } finally {
                next.close();
            }
            assertThat(count(c, "killed-")).isEqualTo(31);
            try (var files = Files.list(data)) {
                assertThat(files.map(f -> f.getFileName().toString()))
                        .as("journals and spill files once everything is written")
                        .noneMatch(n -> n.startsWith("interactions.journal.") || n.equals("interactions.spill.jsonl"));
            }
        }
    }

    /**
     * While spilled rows are being loaded into a database that does not answer (their table locked by another
     * session), a request whose row spills (the queue full) appends it at once: the loading holds no lock the
     * requests need. Everything arrives once the table is free.
     */
    @Test
    void aRowSpilledWhileTheSpillFileLoadsDoesNotWaitForTheDatabase() throws Exception {
        Path data = Files.createDirectories(dir.resolve("loading"));
        StringBuilder earlier = new StringBuilder();
        for (int i = 0; i < 5; i++) {
            earlier.append(JSON_FOR_TEST.writeValueAsString(interaction("loading-earlier-" + i)))
                    .append('\n');
        }
        Files.writeString(data.resolve("interactions.spill.jsonl"), earlier.toString());
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection locker = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            locker.setAutoCommit(false);
            locker.createStatement().execute("lock table interactions in access exclusive mode");
            // a queue of one: the second row recorded below spills
            InteractionWriter writer = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES), new SimpleMeterRegistry(), data.toString(), 1);
            try {
                // the writer, idle, loads the spill file and waits for the lock
                awaitUntil(() -> insertWaitsForALock(c));
                assertThat(insertWaitsForALock(c))
                        .as("the spill file's load waits for the table")
                        .isTrue();
                Thread recorder = Thread.ofPlatform().start(() -> {
                    writer.record(interaction("loading-queued"));
                    writer.record(interaction("loading-spilled"));
                });
                recorder.join(30_000);
                assertThat(recorder.isAlive())
                        .as("recording waits for the database")
                        .isFalse();
                assertThat(Files.readString(data.resolve("interactions.spill.jsonl")))
                        .contains("loading-spilled");
                locker.commit();
                awaitUntil(() -> count(c, "loading-") >= 7);
                assertThat(count(c, "loading-")).isEqualTo(7);
            } finally {
                locker.rollback();
                writer.close();
            }
        }
    }

    /**
     * While the table cannot be written, interactions with long texts wait in memory only up to the memory bound
     * (here 1 MB, about five of these 100,000-character prompts); the rest go to the spill file, and all arrive
     * once the table is back.
     */
    @Test
    void longInteractionsWaitingForTheDatabaseSpillPastTheMemoryBound() throws Exception {
        Path data = Files.createDirectories(dir.resolve("memory"));
        String prompt = "p".repeat(100_000);
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            InteractionWriter writer = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES),
                    new SimpleMeterRegistry(),
                    data.toString(),
                    10_000,
                    1);
            try {
                c.createStatement().execute("alter table interactions rename to interactions_away");
                OffsetDateTime now = OffsetDateTime.now();
                for (int i = 0; i < 50; i++) {
                    writer.record(new Interaction(
                            "memory-" + i,
                            "completions",
                            "d",
                            null,
                            1L,
                            100_000,
                            5,
                            1.5,
                            3.0,
                            200,
                            "length",
                            now,
                            now,
                            prompt,
                            "ok"));
                }
                assertThat(writer.pending()).as("waiting in memory").isLessThanOrEqualTo(5);
                assertThat(writer.spilled()).as("in the spill file").isGreaterThanOrEqualTo(44);
            } finally {
                c.createStatement().execute("alter table interactions_away rename to interactions");
            }
            awaitUntil(() -> count(c, "memory-") >= 50);
            assertThat(count(c, "memory-")).isEqualTo(50);
            writer.close();
        }
    }

    /**
     * A backlog that never empties (PostgreSQL slower than the traffic for as long as it lasts) used to keep every row
     * since it began in one journal segment, since a segment was retired only when the writer emptied the queue. Here
     * each batch insert waits at a gate (an advisory lock a statement trigger takes) that the test opens one batch at
     * a time, while rows arrive faster than the batches leave.
     */
    @Test
    void aBacklogThatNeverEmptiesKeepsOnlyRecentRowsInTheJournal() throws Exception {
        Path data = Files.createDirectories(dir.resolve("backlog"));
        int wave = InteractionWriter.BATCH + InteractionWriter.BATCH / 4;
        try (Connection gate = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                Connection writerConnection = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
            gate.createStatement()
                    .execute("create or replace function interactions_gate() returns trigger language plpgsql as"
                            + " $$ begin perform pg_advisory_xact_lock(7407); return null; end $$");
            gate.createStatement()
                    .execute("create trigger interactions_gate before insert on interactions"
                            + " for each statement execute function interactions_gate()");
            gate.createStatement().execute("select pg_advisory_lock(7407)");
            // segments past 64 KB are retired at the next batch (2,500 rows are about 700 KB)
            InteractionWriter writer = new InteractionWriter(
                    DSL.using(writerConnection, SQLDialect.POSTGRES),
                    new SimpleMeterRegistry(),
                    data.toString(),
                    100_000,
                    256,
                    64 << 10);
            try {
                writer.record(interaction("backlog-0"));
                awaitGateWaiter(gate);
                for (int i = 0; i < wave; i++) {
                    writer.record(interaction("backlog-a" + i));
                }
                // the lone row is written; the writer takes 2,000 of the wave and waits with them
                letOneBatchThrough(gate, true);
                for (int i = 0; i < wave; i++) {
                    writer.record(interaction("backlog-b" + i));
                }
                // two more batches: 4,001 rows written, the last 1,000 at the gate, none left in the queue
                letOneBatchThrough(gate, true);
                letOneBatchThrough(gate, true);
                assertThat(writer.written()).isEqualTo(1 + 2L * InteractionWriter.BATCH);
                assertThat(journalLines(data))
                        .as("journal lines while 1,000 of 5,001 rows are unwritten: the second wave's segment, not"
                                + " both waves")
                        .isEqualTo(wave);
                gate.createStatement().execute("select pg_advisory_unlock(7407)");
                awaitUntil(() -> writer.written() >= 1 + 2L * wave);
                assertThat(count(gate, "backlog-")).isEqualTo(1 + 2L * wave);
                assertThat(journalLines(data))
                        .as("every row written: only the empty current segment")
                        .isZero();
            } finally {
                gate.createStatement().execute("select pg_advisory_unlock_all()");
                writer.close();
                gate.createStatement().execute("drop trigger interactions_gate on interactions");
                gate.createStatement().execute("drop function interactions_gate()");
            }
        }
    }

    /** Waits until an insert waits at the gate (the writer's batch). */
    private static void awaitGateWaiter(Connection gate) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            try (ResultSet r = gate.createStatement()
                    .executeQuery("select count(*) from pg_locks where locktype = 'advisory' and objid = 7407"
                            + " and not granted")) {
                r.next();
                if (r.getLong(1) > 0) {
                    return;
                }
            }
            Thread.sleep(10);
        }
        throw new AssertionError("no insert waited at the gate within 60 s");
    }

    /**
     * Opens the gate for the waiting batch alone: the test asks for the lock again at once, behind the waiting insert,
     * and gets it when that insert's transaction ends; {@code more}: wait for the writer's next batch at the gate.
     */
    private static void letOneBatchThrough(Connection gate, boolean more) throws Exception {
        gate.createStatement().execute("select pg_advisory_unlock(7407)");
        gate.createStatement().execute("select pg_advisory_lock(7407)");
        if (more) {
            awaitGateWaiter(gate);
        }
    }

    /** Lines in the data folder's interaction journal segments. */
    private static long journalLines(Path data) throws Exception {
        long lines = 0;
        try (var files = Files.list(data)) {
            for (Path f : files.filter(p -> p.getFileName().toString().startsWith("interactions.journal."))
                    .toList()) {
                byte[] bytes = Files.readAllBytes(f);
                for (byte b : bytes) {
                    lines += b == '\n' ? 1 : 0;
                }
            }
        }
        return lines;
    }

    /** Waits until {@code done} holds, 60 s at most (the assertions after it say what was expected). */
    private static void awaitUntil(java.util.concurrent.Callable<Boolean> done) throws Exception {
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(60);
        while (!done.call() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper JSON_FOR_TEST =
            new com.fasterxml.jackson.databind.ObjectMapper()
                    .registerModule(new com.fasterxml.jackson.datatype.jsr310.JavaTimeModule())
                    .disable(com.fasterxml.jackson.databind.SerializationFeature.WRITE_DATES_AS_TIMESTAMPS);

    private static boolean insertWaitsForALock(Connection c) throws Exception {
        try (ResultSet r = c.createStatement()
                .executeQuery("select count(*) from pg_stat_activity where wait_event_type = 'Lock'"
                        + " and query ilike 'insert into%interactions%'")) {
            r.next();
            return r.getLong(1) > 0;
        }
    }
}
