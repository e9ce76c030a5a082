package io.twinserve.api.server.infra;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One redis-server process (the binary the embedded-redis jar ships), started and stopped by twinserve alone.
 * Written here rather than through the jar's {@code RedisServer} because that one registers a JVM shutdown
 * hook of its own that cannot be turned off: on SIGTERM it stopped Redis while the server was still flushing
 * usage into it. Data stays in {@code dir} (append-only file, fsync once a second).
 */
final class EmbeddedRedis implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedRedis.class);
    private static final long START_TIMEOUT_MS = 20_000;

    private final Path binary;
    private final Path dir;
    private final int port;
    private volatile Process process;

    EmbeddedRedis(Path binary, Path dir, int port) {
        this.binary = binary;
        this.dir = dir;
        this.port = port;
    }

    int port() {
        return port;
    }

    /** Starts the process and waits until it accepts connections. */
    synchronized void start() throws IOException {
        ProcessBuilder pb = new ProcessBuilder(List.of(
                        binary.toString(),
                        "--port",
                        Integer.toString(port),
                        "--bind",
                        "127.0.0.1",
                        "--dir",
                        dir.toAbsolutePath().toString(),
                        "--appendonly",
                        "yes",
                        "--appendfsync",
                        "everysec",
                        "--save",
                        "",
                        "--daemonize",
                        "no"))
                .directory(dir.toFile())
                .redirectErrorStream(true);
        Process p = pb.start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        long deadline = System.currentTimeMillis() + START_TIMEOUT_MS;
        StringBuilder seen = new StringBuilder();
        String line;
        while ((line = out.readLine()) != null) {
            seen.append(line).append('\n');
            if (line.contains("Ready to accept connections")) {
                break;
            }
            if (System.currentTimeMillis() > deadline) {
                p.destroyForcibly();
                throw new IOException("redis-server did not become ready in " + START_TIMEOUT_MS + " ms:\n" + seen);
            }
        }
        if (line == null) {
            throw new IOException("redis-server exited while starting:\n" + seen);
        }
        // keep reading its output, or the process blocks once the pipe fills
        Thread.ofPlatform().daemon(true).name("redis-output-" + port).start(() -> drain(out));
        process = p;
    }

    private void drain(BufferedReader out) {
        try {
            String l;
            while ((l = out.readLine()) != null) {
                LOG.debug("redis: {}", l);
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    boolean alive() {
        Process p = process;
        return p != null && p.isAlive();
    }

    long pid() {
        Process p = process;
        return p == null ? -1 : p.pid();
    }

    /** SIGTERM (Redis writes its append-only file and exits), then SIGKILL after ten seconds. */
    @Override
    public synchronized void close() {
        Process p = process;
        process = null;
        if (p == null || !p.isAlive()) {
            return;
        }
        p.destroy();
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                LOG.warn("redis-server on port {} did not stop in 10 s; killing it", port);
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
        }
    }
}
