package io.twinserve.api.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.api.server.auth.AccessService;
import io.twinserve.api.server.infra.DataServices;
import io.twinserve.api.server.infra.Redis;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import org.flywaydb.core.Flyway;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

/**
 * The database as the {@code admin} commands see it: the running server's (its services.json), else
 * TWINSERVE_DATABASE_URL, else the embedded PostgreSQL in the data folder, started for the command.
 */
public final class AdminDatabase implements AutoCloseable {
    private final DataServices started;
    private final Connection connection;
    private final Redis redis;
    private final AccessService access;

    private AdminDatabase(DataServices started, Connection connection, Redis redis) {
        this.started = started;
        this.connection = connection;
        this.redis = redis;
        this.access = new AccessService(DSL.using(connection, SQLDialect.POSTGRES), redis);
    }

    public static AdminDatabase open(Path dataDir) {
        DataServices started = null;
        String jdbc;
        String user;
        String password;
        String redisUrl = null;
        Path file = dataDir.resolve(TwinserveServer.SERVICES_FILE);
        JsonNode running = running(file);
        if (running != null) {
            jdbc = running.path("jdbc_url").asText();
            user = running.path("user").isNull() ? null : running.path("user").asText();
            password = running.path("password").isNull()
                    ? null
                    : running.path("password").asText();
            redisUrl = running.path("redis_url").asText(null);
        } else if (ServerEnv.get(ServerEnv.DATABASE_URL) != null) {
            var db = DataServices.parseDatabaseUrl(ServerEnv.get(ServerEnv.DATABASE_URL));
            jdbc = db.jdbcUrl();
            user = db.user();
            password = db.password();
            redisUrl = ServerEnv.get(ServerEnv.REDIS_URL);
        } else {
            started = DataServices.embeddedDatabase(dataDir);
            jdbc = started.database().jdbcUrl();
            user = started.database().user();
            password = started.database().password();
        }
        try {
            Flyway.configure()
                    .dataSource(jdbc, user, password)
                    .locations("classpath:db/migration")
                    .load()
                    .migrate();
            Connection c = DriverManager.getConnection(jdbc, user, password);
            Redis redis = redisUrl == null ? null : new Redis(redisUrl, 10_000);
            return new AdminDatabase(started, c, redis);
        } catch (SQLException e) {
            if (started != null) {
                started.close();
            }
            throw new IllegalStateException("cannot connect to the database at " + jdbc + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (started != null) {
                started.close();
            }
            throw e;
        }
    }

    /** The services file of a server that is still running, or null. */
    private static JsonNode running(Path file) {
        if (!Files.isRegularFile(file)) {
            return null;
        }
        try {
            JsonNode n = new ObjectMapper().readTree(file.toFile());
            long pid = n.path("pid").asLong(-1);
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false) ? n : null;
        } catch (IOException e) {
            throw new UncheckedIOException(
                    file + ": unreadable (" + e.getMessage() + "); delete it if no server runs", e);
        }
    }

    public AccessService access() {
        return access;
    }

    @Override
    public void close() {
        try {
            connection.close();
        } catch (SQLException e) {
            // closing a connection we are done with: nothing to save
        }
        if (redis != null) {
            redis.close();
        }
        if (started != null) {
            started.close();
        }
    }
}
