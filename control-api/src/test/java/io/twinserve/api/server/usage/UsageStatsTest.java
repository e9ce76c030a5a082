package io.twinserve.api.server.usage;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.twinserve.api.server.infra.DataServices;
import io.twinserve.api.server.infra.Dependencies;
import io.twinserve.api.server.infra.Redis;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Usage counts are never lost nor counted twice, against a real Redis (embedded): counts recorded while flushes
 * run all arrive; while Redis refuses writes they wait, stay in the journal at shutdown (a request that ends after
 * it in a journal of its own), and arrive at the next start exactly once, even when that start is repeated after a
 * crash before the files were deleted; the same for a server killed with counts in memory.
 */
class UsageStatsTest {
    @TempDir
    static Path dir;

    static DataServices services;
    static Redis redis;

    @BeforeAll
    static void start() {
        // the database is never used here: only the embedded Redis is started
        services = DataServices.resolve("postgresql://unused:unused@127.0.0.1:1/unused", null, dir, false);
        redis = new Redis(services.redis().toString(), 1_000);
    }

    @AfterAll
    static void stop() {
        redis.close();
        services.close();
    }

    private static UsageStats stats(Path data) {
        return new UsageStats(
                redis, new Dependencies(new SimpleMeterRegistry(), 1, 50), new SimpleMeterRegistry(), data.toString());
    }

    /** Requests counted in Redis for deployment {@code d} over the last minutes. */
    private static long requests(UsageStats u, String d) {
        long n = 0;
        for (Map<String, Object> m : u.read("deployment:" + d, 10)) {
            n += ((Number) m.get("requests")).longValue();
        }
        return n;
    }

    /**
     * Counts recorded by 8 threads while flushes run all arrive, and the journal stays the size of what waits, not
     * of what was served: uncompacted it would hold 160,000 lines (about 13 MB).
     */
    @Test
    void countsRecordedWhileFlushesRunAllArriveAndTheJournalStaysSmall() throws Exception {
        Path data = Files.createDirectories(dir.resolve("concurrent"));
        UsageStats u = stats(data);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 20_000; i++) {
                    u.record(1, "concurrent", "a", 3, 2);
                }
            }));
        }
        long[] largest = {0};
        Thread flusher = Thread.ofPlatform().start(() -> {
            while (threads.stream().anyMatch(Thread::isAlive)) {
                u.flush();
                try {
                    for (Path f : journals(data)) {
                        largest[0] = Math.max(largest[0], Files.size(f));
                    }
                } catch (Exception e) {
                    // a journal replaced while it was measured
                }
            }
        });
        for (Thread t : threads) {
            t.join();
        }
        flusher.join();
        flushed(u);
        assertThat(requests(u, "concurrent")).isEqualTo(160_000);
        assertThat(largest[0]).as("the journal's largest size").isLessThan(2_000_000);
        u.destroy();
        assertThat(journals(data)).as("deleted once Redis holds everything").isEmpty();
    }

    private static List<Path> journals(Path data) throws Exception {
        try (Stream<Path> s = Files.list(data)) {
            return s.filter(f -> f.getFileName().toString().startsWith("usage.journal."))
                    .sorted()
                    .toList();
        }
    }

    private static void flushed(UsageStats u) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!u.flush() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
    }

    private static void copy(Path from, Path to) throws Exception {
        Files.createDirectories(to);
        for (Path f : journals(from)) {
            Files.copy(f, to.resolve(f.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }

    @Test
    void countsRedisRefusedAreKeptAtShutdownAndArriveOnceAtTheNextStart() throws Exception {
        Path data = Files.createDirectories(dir.resolve("spill"));
        UsageStats first = stats(data);
        // Redis refuses writes (out of memory with nothing to evict) until this test lets it take them again
        redis.async().configSet("maxmemory-policy", "noeviction").get();
        redis.async().configSet("maxmemory", "1").get();
        try {
            for (int i = 0; i < 3; i++) {
                first.record(7, "spilled", null, 10, 5);
            }
            assertThat(first.flush()).isFalse();
            first.close(200);
            first.destroy();
            // a request that ended after the last flush: a journal of its own, the server's kept
            first.record(7, "spilled", null, 10, 5);
            assertThat(journals(data)).hasSize(2);
        } finally {
            redis.async().configSet("maxmemory", "0").get();
        }
        // a crash after the next start sent them but before it deleted the files: kept aside and put back below
        Path aside = dir.resolve("spill-aside");
        copy(data, aside);
        UsageStats second = stats(data);
        flushed(second);
        assertThat(requests(second, "spilled")).isEqualTo(4);
        // taken over and deleted; the second server's own journal is empty (Redis has everything)
        assertThat(journals(data)).hasSize(1);
        second.abandon();
        copy(aside, data);
        UsageStats third = stats(data);
        flushed(third);
        // the same batches under the same ids: Redis had them already
        assertThat(requests(third, "spilled")).isEqualTo(4);
        third.destroy();
        assertThat(journals(data)).isEmpty();
    }

    /**
     * A server killed (here: its journal left as a dead process leaves it) with counts Redis took, a batch Redis
     * refused and counts not yet sealed: the next start sends what Redis does not have, once, and a start that reads
     * the same journal again (a second crash before the file was deleted) adds nothing.
     */
    @Test
    void aKilledServersCountsArriveOnceAtTheNextStart() throws Exception {
        Path data = Files.createDirectories(dir.resolve("killed"));
        UsageStats first = stats(data);
        for (int i = 0; i < 5; i++) {
            first.record(8, "killed", "a", 10, 5);
        }
        flushed(first);
        assertThat(requests(first, "killed")).isEqualTo(5);
        for (int i = 0; i < 3; i++) {
            first.record(8, "killed", "a", 10, 5);
        }
        redis.async().configSet("maxmemory-policy", "noeviction").get();
        redis.async().configSet("maxmemory", "1").get();
        try {
            // sealed and journaled, refused by Redis
            assertThat(first.flush()).isFalse();
        } finally {
            redis.async().configSet("maxmemory", "0").get();
        }
        for (int i = 0; i < 2; i++) {
            first.record(8, "killed", "a", 10, 5);
        }
        // killed: no flush, no close
        first.abandon();
        Path aside = dir.resolve("killed-aside");
        copy(data, aside);
        UsageStats second = stats(data);
        flushed(second);
        assertThat(requests(second, "killed")).isEqualTo(10);
        assertThat(adapterTokens(second, "killed", "a")).isEqualTo(100);
        // killed again after sending, before deleting the journal it took over
        second.abandon();
        copy(aside, data);
        UsageStats third = stats(data);
        flushed(third);
        assertThat(requests(third, "killed")).isEqualTo(10);
        third.destroy();
    }

    /** A request thread whose interrupt flag is set (a caller that restored it) journals like any other. */
    @Test
    void aCountRecordedByAnInterruptedThreadIsStillJournaled() throws Exception {
        Path data = Files.createDirectories(dir.resolve("interrupted"));
        UsageStats first = stats(data);
        Thread.currentThread().interrupt();
        try {
            first.record(9, "interrupted", null, 10, 5);
        } finally {
            Thread.interrupted();
        }
        first.record(9, "interrupted", null, 10, 5);
        first.abandon();
        UsageStats next = stats(data);
        flushed(next);
        assertThat(requests(next, "interrupted")).isEqualTo(2);
        next.destroy();
    }

    /** Prompt tokens counted in Redis for adapter {@code a} of deployment {@code d}. */
    private static long adapterTokens(UsageStats u, String d, String a) {
        long n = 0;
        for (Map<String, Object> m : u.read("adapter:" + d + ":" + a, 10)) {
            n += ((Number) m.get("prompt_tokens")).longValue();
        }
        return n;
    }

    @Test
    void aSpillFileOfTheEarlierFormatIsReadOnceEvenWhenReadAgain() throws Exception {
        Path data = Files.createDirectories(dir.resolve("legacy"));
        String minute = UsageStats.MINUTE.format(java.time.Instant.now());
        String legacy =
                "{\"batchId\": null, \"sent\": {}, \"fresh\": {\"" + minute + ":deployment:legacy\": [2, 20, 10]}}";
        Files.writeString(data.resolve("usage.spill.json"), legacy);
        UsageStats u = stats(data);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!u.flush() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(requests(u, "legacy")).isEqualTo(2);
        // the same file again (a crash before its deletion): its fresh counts have an id derived from the file
        Files.writeString(data.resolve("usage.spill.json"), legacy);
        UsageStats again = stats(data);
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!again.flush() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(requests(again, "legacy")).isEqualTo(2);
    }
}
