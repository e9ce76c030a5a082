package io.twinserve.api.server.infra;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the PostgreSQL and Redis that the server (or a test) talks to: the URLs it is given, else
 * containers where a Docker engine answers (tests only), else embedded real servers started here with
 * their data in a local folder. Closing stops whatever was started.
 */
public final class DataServices implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DataServices.class);
    /** The redis-server binary that the embedded-redis jar ships for Linux x86-64. */
    private static final String REDIS_BINARY = "/redis-server-6.2.6-v5-linux-amd64";

    /** A JDBC URL with its credentials. */
    public record Database(String jdbcUrl, String user, String password, String origin) {}

    /** Where the pids of the embedded servers are kept while they run (and found after a {@code kill -9}). */
    public static final String PIDS_FILE = "embedded.json";

    private final Database database;
    private final URI redis;
    private final String redisOrigin;
    private final List<AutoCloseable> started;
    private final Path dataDir;
    private final SupervisedPostgres postgres;
    private final EmbeddedRedis embeddedRedis;
    private final AtomicInteger postgresRestarts = new AtomicInteger();
    private final AtomicInteger redisRestarts = new AtomicInteger();
    private volatile boolean closing;
    private Thread supervisor;

    private DataServices(
            Database database,
            URI redis,
            String redisOrigin,
            List<AutoCloseable> started,
            Path dataDir,
            SupervisedPostgres postgres,
            EmbeddedRedis embeddedRedis) {
        this.database = database;
        this.redis = redis;
        this.redisOrigin = redisOrigin;
        this.started = started;
        this.dataDir = dataDir;
        this.postgres = postgres;
        this.embeddedRedis = embeddedRedis;
    }

    public Database database() {
        return database;
    }

    public URI redis() {
        return redis;
    }

    public String redisOrigin() {
        return redisOrigin;
    }

    /** How often the supervisor restarted the embedded PostgreSQL and Redis. */
    public int postgresRestarts() {
        return postgresRestarts.get();
    }

    public int redisRestarts() {
        return redisRestarts.get();
    }

    /** The embedded servers' process ids (-1 where not embedded), for fault tests and operators. */
    public long postgresPid() {
        return postgres == null ? -1 : postgres.pid();
    }

    /** Whether the embedded PostgreSQL runs right now (false while it is down or being restarted). */
    public boolean postgresAlive() {
        return postgres != null && postgres.alive();
    }

    public long redisPid() {
        return embeddedRedis == null ? -1 : embeddedRedis.pid();
    }

    /**
     * Resolves both services.
     *
     * @param databaseUrl a {@code postgresql://user:pass@host:port/db} or {@code jdbc:postgresql://...} URL, or null
     * @param redisUrl a {@code redis://host:port} URL, or null
     * @param dataDir where embedded servers keep their data (created if absent)
     * @param allowContainers whether Testcontainers may be tried (tests) before the embedded servers
     */
    public static DataServices resolve(String databaseUrl, String redisUrl, Path dataDir, boolean allowContainers) {
        List<AutoCloseable> started = new ArrayList<>();
        try {
            boolean embeddedDb = (databaseUrl == null || databaseUrl.isBlank())
                    && !(allowContainers && Containers.dockerAvailable());
            boolean embeddedCache =
                    (redisUrl == null || redisUrl.isBlank()) && !(allowContainers && Containers.dockerAvailable());
            if (embeddedDb || embeddedCache) {
                StaleServers.stop(dataDir.resolve(PIDS_FILE));
            }
            Database db;
            SupervisedPostgres pg = null;
            if (databaseUrl != null && !databaseUrl.isBlank()) {
                db = parseDatabaseUrl(databaseUrl.strip());
            } else if (!embeddedDb) {
                db = Containers.postgres(started);
            } else {
                pg = embeddedPostgres(dataDir.resolve("postgres"), started);
                db = new Database(pg.jdbcUrl(), "postgres", "", "embedded");
            }
            URI redis;
            String redisOrigin;
            EmbeddedRedis er = null;
            if (redisUrl != null && !redisUrl.isBlank()) {
                redis = parseRedisUrl(redisUrl.strip());
                redisOrigin = "configured";
            } else if (!embeddedCache) {
                redis = Containers.redis(started);
                redisOrigin = "container";
            } else {
                er = embeddedRedis(dataDir.resolve("redis"), started);
                redis = URI.create("redis://127.0.0.1:" + er.port());
                redisOrigin = "embedded";
            }
            DataServices ds = new DataServices(db, redis, redisOrigin, started, dataDir, pg, er);
            ds.supervise();
            return ds;
        } catch (RuntimeException | Error e) {
            closeAll(started);
            throw e;
        }
    }

    /** Only the embedded PostgreSQL in {@code dataDir} (for admin commands while no server runs). */
    public static DataServices embeddedDatabase(Path dataDir) {
        List<AutoCloseable> started = new ArrayList<>();
        StaleServers.stop(dataDir.resolve(PIDS_FILE));
        SupervisedPostgres pg = embeddedPostgres(dataDir.resolve("postgres"), started);
        Database db = new Database(pg.jdbcUrl(), "postgres", "", "embedded");
        return new DataServices(db, null, "none", started, dataDir, pg, null);
    }

    /**
     * Records the embedded servers' pids (so a next start after a {@code kill -9} finds and stops them) and
     * watches them: one that dies is started again on the same port with the same data, and clients reconnect.
     */
    private void supervise() {
        if (postgres == null && embeddedRedis == null) {
            return;
        }
        writePids();
        supervisor = Thread.ofPlatform()
                .daemon(true)
                .name("twinserve-supervisor")
                .start(() -> {
                    while (!closing) {
                        try {
                            Thread.sleep(250);
                        } catch (InterruptedException e) {
                            return;
                        }
                        if (postgres != null && !closing && !postgres.alive()) {
                            restart("PostgreSQL", postgres::restart, postgresRestarts);
                        }
                        if (embeddedRedis != null && !closing && !embeddedRedis.alive()) {
                            restart("Redis", embeddedRedis::start, redisRestarts);
                        }
                    }
                });
    }

    private interface Restart {
        void run() throws IOException;
    }

    private void restart(String name, Restart how, AtomicInteger count) {
        LOG.warn("the embedded {} died; starting it again", name);
        try {
            how.run();
            count.incrementAndGet();
            writePids();
            LOG.info("the embedded {} is back", name);
        } catch (IOException | RuntimeException e) {
            // tried again on the next round (a crashed PostgreSQL's backends may still hold its memory a moment)
            LOG.warn("restarting the embedded {} failed: {}", name, e.getMessage());
        }
    }

    private synchronized void writePids() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("server_pid", ProcessHandle.current().pid());
        m.put("postgres_pid", postgresPid());
        m.put("redis_pid", redisPid());
        try {
            Path file = dataDir.resolve(PIDS_FILE);
            Path tmp = dataDir.resolve(PIDS_FILE + ".tmp");
            Files.writeString(tmp, new ObjectMapper().writeValueAsString(m));
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            LOG.warn("could not write {}: {}", dataDir.resolve(PIDS_FILE), e.toString());
        }
    }

    /** Accepts the libpq form and the JDBC form; user and password may sit in the URL. */
    public static Database parseDatabaseUrl(String url) {
        String rest = url.startsWith("jdbc:") ? url.substring(5) : url;
        if (!rest.startsWith("postgresql://") && !rest.startsWith("postgres://")) {
            throw new IllegalArgumentException(
                    "TWINSERVE_DATABASE_URL: expected postgresql://user:password@host:port/database"
                            + " or jdbc:postgresql://host:port/database, got '" + url + "'");
        }
        URI u = URI.create(rest.replaceFirst("^postgres(ql)?://", "postgresql://"));
        if (u.getHost() == null) {
            throw new IllegalArgumentException("TWINSERVE_DATABASE_URL: no host in '" + url + "'");
        }
        String user = null;
        String password = null;
        if (u.getUserInfo() != null) {
            String[] parts = u.getUserInfo().split(":", 2);
            user = parts[0];
            password = parts.length > 1 ? parts[1] : null;
        }
        String query = u.getQuery() == null ? "" : "?" + u.getQuery();
        if (user == null && u.getQuery() != null) {
            for (String kv : u.getQuery().split("&")) {
                if (kv.startsWith("user=")) {
                    user = kv.substring(5);
                } else if (kv.startsWith("password=")) {
                    password = kv.substring(9);
                }
            }
        }
        String jdbc =
                "jdbc:postgresql://" + u.getHost() + (u.getPort() > 0 ? ":" + u.getPort() : "") + u.getPath() + query;
        return new Database(jdbc, user, password, "configured");
    }

    static URI parseRedisUrl(String url) {
        URI u;
        try {
            u = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(
                    "TWINSERVE_REDIS_URL: '" + url + "' is not a URL; expected redis://host:port", e);
        }
        if (!"redis".equals(u.getScheme()) && !"rediss".equals(u.getScheme()) || u.getHost() == null) {
            throw new IllegalArgumentException("TWINSERVE_REDIS_URL: expected redis://host:port, got '" + url + "'");
        }
        return u;
    }

    private static SupervisedPostgres embeddedPostgres(Path dir, List<AutoCloseable> started) {
        try {
            Files.createDirectories(dir);
            SupervisedPostgres pg = new SupervisedPostgres(dir, freePort());
            pg.start();
            started.add(pg);
            LOG.info("embedded PostgreSQL on port {} with data in {}", pg.port(), dir.toAbsolutePath());
            return pg;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "could not start the embedded PostgreSQL in " + dir + ": " + e.getMessage(), e);
        }
    }

    /**
     * The embedded PostgreSQL, restartable on the same port and data: no shutdown hook of its own (the server
     * stops it last, after flushing), and durable commits (the library's defaults turn fsync and synchronous
     * commit off, which loses the last transactions when PostgreSQL or the machine crashes).
     */
    static final class SupervisedPostgres implements AutoCloseable {
        private final Path dir;
        private final int port;
        private volatile EmbeddedPostgres pg;
        /** The postmaster (the library starts it through pg_ctl, whose own process ends at once). */
        private volatile long pid = -1;

        SupervisedPostgres(Path dir, int port) {
            this.dir = dir;
            this.port = port;
        }

        synchronized void start() throws IOException {
            clearStalePidFile(dir);
            pg = EmbeddedPostgres.builder()
                    .setDataDirectory(dir)
                    .setCleanDataDirectory(false)
                    .setRegisterShutdownHook(false)
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("full_page_writes", "on")
                    .setPort(port)
                    .start();
            List<String> lines = Files.readAllLines(dir.resolve("postmaster.pid"));
            pid = lines.isEmpty() ? -1 : parseLong(lines.get(0).strip());
        }

        int port() {
            return port;
        }

        String jdbcUrl() {
            return pg.getJdbcUrl("postgres", "postgres");
        }

        boolean alive() {
            long p = pid;
            return p > 0 && ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false);
        }

        long pid() {
            return pid;
        }

        /** After the process died: releases the old instance's lock and starts again on the same port. */
        synchronized void restart() throws IOException {
            EmbeddedPostgres old = pg;
            pg = null;
            pid = -1;
            if (old != null) {
                try {
                    old.close();
                } catch (IOException | RuntimeException e) {
                    LOG.debug("closing the dead PostgreSQL instance: {}", e.toString());
                }
            }
            start();
        }

        @Override
        public synchronized void close() throws IOException {
            EmbeddedPostgres p = pg;
            pg = null;
            if (p != null) {
                p.close();
            }
        }
    }

    /**
     * A server killed without a clean stop leaves postmaster.pid behind, and PostgreSQL then refuses to start;
     * the file is removed only when its process is gone (a live one means the folder is in use).
     */
    private static void clearStalePidFile(Path dir) throws IOException {
        Path pidFile = dir.resolve("postmaster.pid");
        if (!Files.isRegularFile(pidFile)) {
            return;
        }
        List<String> lines = Files.readAllLines(pidFile);
        long pid = lines.isEmpty() ? -1 : parseLong(lines.get(0).strip());
        if (pid > 0 && ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
            throw new IOException("PostgreSQL process " + pid + " already uses " + dir + " (another twinserve serve?);"
                    + " stop it or choose another --data-dir");
        }
        Files.delete(pidFile);
    }

    private static long parseLong(String s) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static EmbeddedRedis embeddedRedis(Path dir, List<AutoCloseable> started) {
        try {
            Files.createDirectories(dir);
            // one copy of the binary in the data folder, instead of the library's temporary folder per start
            Path binary = dir.resolve("redis-server");
            if (!Files.isExecutable(binary)) {
                try (InputStream in = DataServices.class.getResourceAsStream(REDIS_BINARY)) {
                    if (in == null) {
                        throw new IOException("the embedded-redis jar has no " + REDIS_BINARY + " (this platform: "
                                + System.getProperty("os.name") + " " + System.getProperty("os.arch") + ")");
                    }
                    Path tmp = Files.createTempFile(dir, "redis-server", ".tmp");
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    tmp.toFile().setExecutable(true);
                    Files.move(tmp, binary, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                }
            }
            EmbeddedRedis server = new EmbeddedRedis(binary, dir, freePort());
            server.start();
            started.add(server);
            LOG.info("embedded Redis on port {} with data in {}", server.port(), dir.toAbsolutePath());
            return server;
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the embedded Redis in " + dir + ": " + e.getMessage(), e);
        }
    }

    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            s.setReuseAddress(true);
            return s.getLocalPort();
        }
    }

    /** The properties Micronaut's data source, Flyway and jOOQ read. */
    public Map<String, Object> micronautProperties() {
        Map<String, Object> p = new LinkedHashMap<>();
        p.put("datasources.default.url", database.jdbcUrl());
        if (database.user() != null) {
            p.put("datasources.default.username", database.user());
        }
        if (database.password() != null) {
            p.put("datasources.default.password", database.password());
        }
        if (redis != null) {
            p.put("twinserve.redis.uri", redis.toString());
        }
        return p;
    }

    /** Stops the supervisor first (a server stopping on purpose is not restarted), then the servers. */
    @Override
    public void close() {
        closing = true;
        if (supervisor != null) {
            supervisor.interrupt();
            try {
                supervisor.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeAll(started);
        if (postgres != null || embeddedRedis != null) {
            try {
                Files.deleteIfExists(dataDir.resolve(PIDS_FILE));
            } catch (IOException e) {
                LOG.warn("could not delete {}: {}", dataDir.resolve(PIDS_FILE), e.toString());
            }
        }
    }

    private static void closeAll(List<AutoCloseable> started) {
        for (int i = started.size() - 1; i >= 0; i--) {
            try {
                started.get(i).close();
            } catch (Exception e) {
                LOG.warn("stopping a data service failed: {}", e.toString());
            }
        }
        started.clear();
    }
}
