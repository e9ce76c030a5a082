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
 * run all arrive; while Redis refuses writes they wait, go to spill files at shutdown (one more for a request that
 * ends after it, never overwriting the first), and arrive at the next start exactly once, even when that start is
 * repeated after a crash before the files were deleted.
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

    private static List<Path> spills(Path data) throws Exception {
        try (Stream<Path> s = Files.list(data)) {
            return s.filter(f -> f.getFileName().toString().startsWith("usage.spill"))
                    .sorted()
                    .toList();
        }
    }

    @Test
    void countsRecordedWhileFlushesRunAllArrive() throws Exception {
        Path data = Files.createDirectories(dir.resolve("concurrent"));
        UsageStats u = stats(data);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            threads.add(Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 5_000; i++) {
                    u.record(1, "concurrent", "a", 3, 2);
                }
            }));
        }
        Thread flusher = Thread.ofPlatform().start(() -> {
            while (threads.stream().anyMatch(Thread::isAlive)) {
                u.flush();
            }
        });
        for (Thread t : threads) {
            t.join();
        }
        flusher.join();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!u.flush() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(requests(u, "concurrent")).isEqualTo(40_000);
    }

    @Test
    void countsRedisRefusedAreSpilledAtShutdownAndArriveOnceAtTheNextStart() throws Exception {
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
            // a request that ended after the last flush: its own file, the first one kept
            first.record(7, "spilled", null, 10, 5);
            assertThat(spills(data)).hasSize(2);
        } finally {
            redis.async().configSet("maxmemory", "0").get();
        }
        // a crash after the next start sent them but before it deleted the files: kept aside and put back below
        Path aside = Files.createDirectories(dir.resolve("aside"));
        for (Path f : spills(data)) {
            Files.copy(f, aside.resolve(f.getFileName()));
        }
        UsageStats second = stats(data);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!second.flush() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(requests(second, "spilled")).isEqualTo(4);
        assertThat(spills(data)).isEmpty();
        for (Path f : Files.list(aside).toList()) {
            Files.copy(f, data.resolve(f.getFileName()));
        }
        UsageStats third = stats(data);
        deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!third.flush() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        // the same batches under the same ids: Redis had them already
        assertThat(requests(third, "spilled")).isEqualTo(4);
        assertThat(spills(data)).isEmpty();
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
