package io.twinserve.api.server.infra;

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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import redis.embedded.RedisServer;

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

    private final Database database;
    private final URI redis;
    private final String redisOrigin;
    private final List<AutoCloseable> started;

    private DataServices(Database database, URI redis, String redisOrigin, List<AutoCloseable> started) {
        this.database = database;
        this.redis = redis;
        this.redisOrigin = redisOrigin;
        this.started = started;
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
            Database db;
            if (databaseUrl != null && !databaseUrl.isBlank()) {
                db = parseDatabaseUrl(databaseUrl.strip());
            } else if (allowContainers && Containers.dockerAvailable()) {
                db = Containers.postgres(started);
            } else {
                db = embeddedPostgres(dataDir.resolve("postgres"), started);
            }
            URI redis;
            String redisOrigin;
            if (redisUrl != null && !redisUrl.isBlank()) {
                redis = parseRedisUrl(redisUrl.strip());
                redisOrigin = "configured";
            } else if (allowContainers && Containers.dockerAvailable()) {
                redis = Containers.redis(started);
                redisOrigin = "container";
            } else {
                redis = embeddedRedis(dataDir.resolve("redis"), started);
                redisOrigin = "embedded";
            }
            return new DataServices(db, redis, redisOrigin, started);
        } catch (RuntimeException | Error e) {
            closeAll(started);
            throw e;
        }
    }

    /** Only the embedded PostgreSQL in {@code dataDir} (for admin commands while no server runs). */
    public static DataServices embeddedDatabase(Path dataDir) {
        List<AutoCloseable> started = new ArrayList<>();
        Database db = embeddedPostgres(dataDir.resolve("postgres"), started);
        return new DataServices(db, null, "none", started);
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

    private static Database embeddedPostgres(Path dir, List<AutoCloseable> started) {
        try {
            Files.createDirectories(dir);
            clearStalePidFile(dir);
            EmbeddedPostgres pg = EmbeddedPostgres.builder()
                    .setDataDirectory(dir)
                    .setCleanDataDirectory(false)
                    .setPort(freePort())
                    .start();
            started.add(pg);
            LOG.info("embedded PostgreSQL on port {} with data in {}", pg.getPort(), dir.toAbsolutePath());
            return new Database(pg.getJdbcUrl("postgres", "postgres"), "postgres", "", "embedded");
        } catch (IOException e) {
            throw new UncheckedIOException(
                    "could not start the embedded PostgreSQL in " + dir + ": " + e.getMessage(), e);
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

    private static URI embeddedRedis(Path dir, List<AutoCloseable> started) {
        try {
            Files.createDirectories(dir);
            // one copy of the binary in the data folder, instead of the library's temporary folder per start
            Path binary = dir.resolve("redis-server");
            if (!Files.isExecutable(binary)) {
                try (InputStream in = RedisServer.class.getResourceAsStream(REDIS_BINARY)) {
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
            int port = freePort();
            RedisServer server = RedisServer.newRedisServer()
                    .executableProvider(binary::toFile)
                    .bind("127.0.0.1")
                    .port(port)
                    .setting("dir " + dir.toAbsolutePath())
                    .setting("appendonly yes")
                    .setting("save \"\"")
                    .build();
            server.start();
            started.add(server::stop);
            LOG.info("embedded Redis on port {} with data in {}", port, dir.toAbsolutePath());
            return URI.create("redis://127.0.0.1:" + port);
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

    @Override
    public void close() {
        closeAll(started);
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
