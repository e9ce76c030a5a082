package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.api.server.TwinserveServer;
import io.twinserve.api.server.infra.DataServices;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A {@code twinserve serve} in a JVM of its own, for benchmarks whose client must not share the server's
 * JVM (a client in the same JVM measured refusals at over a second that the server had answered in
 * milliseconds). Its address, database and embedded servers' pids come from the files the server writes in
 * its data folder; it is stopped with SIGTERM, as an operator stops it.
 */
final class ChildServer implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final Process process;
    private final Path dir;
    private final JsonNode services;

    private ChildServer(Process process, Path dir, JsonNode services) {
        this.process = process;
        this.dir = dir;
        this.services = services;
    }

    /** Starts a server on {@code dir} (its output appended to {@code dir/server.log}) and waits until it serves. */
    static ChildServer start(Path dir) throws IOException, InterruptedException {
        String java = ProcessHandle.current().info().command().orElse("java");
        Path log = dir.resolve("server.log");
        Process p = new ProcessBuilder(List.of(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        "io.twinserve.api.cli.TwinserveCommand",
                        "serve",
                        "--host",
                        "127.0.0.1",
                        "--port",
                        "0",
                        "--data-dir",
                        dir.toString()))
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
                .start();
        Path file = dir.resolve(TwinserveServer.SERVICES_FILE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (true) {
            JsonNode n = read(file);
            if (n != null && n.path("pid").asLong() == p.pid()) {
                return new ChildServer(p, dir, n);
            }
            if (!p.isAlive() || System.nanoTime() > deadline) {
                p.destroyForcibly();
                throw new IllegalStateException("the server did not start; its output:\n" + tail(log));
            }
            Thread.sleep(50);
        }
    }

    private static JsonNode read(Path file) {
        try {
            return Files.isRegularFile(file) && Files.size(file) > 0 ? JSON.readTree(file.toFile()) : null;
        } catch (IOException e) {
            return null; // being written
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    }

    URI uri() {
        return URI.create(services.path("url").asText());
    }

    String jdbcUrl() {
        return services.path("jdbc_url").asText();
    }

    String user() {
        return services.path("user").asText(null);
    }

    String password() {
        return services.path("password").asText(null);
    }

    /** The pid of the embedded PostgreSQL now (it changes when the server's supervisor restarts it). */
    long postgresPid() {
        return pid("postgres_pid");
    }

    long redisPid() {
        return pid("redis_pid");
    }

    private long pid(String field) {
        JsonNode n = read(dir.resolve(DataServices.PIDS_FILE));
        return n == null ? -1 : n.path(field).asLong(-1);
    }

    /** SIGTERM, then waits for the server to drain, flush and exit (killed after {@code seconds}). */
    void stop(int seconds) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(seconds, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            stop(60);
        }
    }
}
