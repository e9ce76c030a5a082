package io.twinserve.api.server.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded PostgreSQL and Redis of a server that was killed ({@code kill -9}, a crash) outlive it: they
 * keep their ports and data folders, and the next start would refuse. The pids file the server keeps while it
 * runs names them; at the next start, when the server it names is gone, its PostgreSQL and Redis are stopped
 * (SIGTERM: PostgreSQL and Redis both shut down cleanly on it) before new ones start.
 */
final class StaleServers {
    private static final Logger LOG = LoggerFactory.getLogger(StaleServers.class);

    private StaleServers() {}

    static void stop(Path pidsFile) {
        if (!Files.isRegularFile(pidsFile)) {
            return;
        }
        JsonNode pids;
        try {
            pids = new ObjectMapper().readTree(pidsFile.toFile());
        } catch (IOException e) {
            LOG.warn("ignoring an unreadable {}: {}", pidsFile, e.getMessage());
            delete(pidsFile);
            return;
        }
        long server = pids.path("server_pid").asLong(-1);
        if (server > 0 && server != ProcessHandle.current().pid() && alive(server)) {
            throw new IllegalStateException("another twinserve (pid " + server + ") is using the data folder "
                    + pidsFile.getParent() + "; stop it or choose another --data-dir");
        }
        stopOne("PostgreSQL", pids.path("postgres_pid").asLong(-1), "postgres");
        stopOne("Redis", pids.path("redis_pid").asLong(-1), "redis-server");
        delete(pidsFile);
    }

    private static void stopOne(String name, long pid, String command) {
        if (pid <= 0) {
            return;
        }
        Optional<ProcessHandle> h = ProcessHandle.of(pid);
        if (h.isEmpty() || !h.get().isAlive()) {
            return;
        }
        // a pid reused by an unrelated process since is left alone
        String cmd = h.get().info().command().orElse("");
        if (!cmd.endsWith(command)) {
            LOG.info("pid {} is no longer an embedded {} ({}); leaving it", pid, name, cmd);
            return;
        }
        LOG.warn("stopping the embedded {} (pid {}) left running by a server that was killed", name, pid);
        h.get().destroy();
        try {
            h.get().onExit().get(15, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.warn("the stale {} (pid {}) did not stop in 15 s; killing it", name, pid);
            h.get().destroyForcibly();
            try {
                h.get().onExit().get(5, TimeUnit.SECONDS);
            } catch (Exception again) {
                throw new IllegalStateException("could not stop the stale embedded " + name + " (pid " + pid + ")");
            }
        }
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private static void delete(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + file + ": " + e.getMessage(), e);
        }
    }
}
