package io.twinserve.api.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.twinserve.api.server.infra.DataServices;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running server: its data services (configured, containers or embedded), the Micronaut context and
 * the HTTP server. While it runs, {@code DATA_DIR/services.json} says where its database and Redis are,
 * so {@code twinserve admin} commands reach the same ones.
 */
public final class TwinserveServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TwinserveServer.class);
    public static final String SERVICES_FILE = "services.json";

    /**
     * @param databaseUrl null for the embedded (or container) PostgreSQL
     * @param redisUrl null for the embedded (or container) Redis
     * @param port 0 for any free port
     * @param allowContainers try Testcontainers before the embedded servers (tests)
     * @param properties more Micronaut properties (tests)
     */
    public record Options(
            Path dataDir,
            String databaseUrl,
            String redisUrl,
            String host,
            int port,
            boolean allowContainers,
            Map<String, Object> properties) {}

    private final DataServices services;
    private final ApplicationContext context;
    private final EmbeddedServer server;
    private final Path servicesFile;

    private TwinserveServer(DataServices services, ApplicationContext context, Path servicesFile) {
        this.services = services;
        this.context = context;
        this.server = context.getBean(EmbeddedServer.class);
        this.servicesFile = servicesFile;
    }

    public static TwinserveServer start(Options o) {
        try {
            Files.createDirectories(o.dataDir());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the data folder " + o.dataDir() + ": " + e.getMessage(), e);
        }
        DataServices services = DataServices.resolve(o.databaseUrl(), o.redisUrl(), o.dataDir(), o.allowContainers());
        try {
            Map<String, Object> props = new LinkedHashMap<>(services.micronautProperties());
            props.put("micronaut.server.port", o.port());
            if (o.host() != null) {
                props.put("micronaut.server.host", o.host());
            }
            props.put("twinserve.data-dir", o.dataDir().toAbsolutePath().toString());
            props.putAll(o.properties());
            // the context without Micronaut.run(): its own shutdown hook would race ours (which must stop the
            // embedded services after the context) and deadlock
            ApplicationContext ctx = ApplicationContext.builder()
                    .deduceEnvironment(false)
                    .banner(false)
                    .properties(props)
                    .start();
            try {
                ctx.getBean(EmbeddedServer.class).start();
            } catch (RuntimeException | Error e) {
                ctx.close();
                throw e;
            }
            Path file = o.dataDir().resolve(SERVICES_FILE);
            TwinserveServer s = new TwinserveServer(services, ctx, file);
            s.writeServicesFile();
            LOG.info(
                    "twinserve serving on {} (PostgreSQL: {}, Redis: {})",
                    s.uri(),
                    services.database().origin(),
                    services.redisOrigin());
            return s;
        } catch (RuntimeException | Error e) {
            services.close();
            throw e;
        }
    }

    private void writeServicesFile() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pid", ProcessHandle.current().pid());
        m.put("url", uri().toString());
        m.put("jdbc_url", services.database().jdbcUrl());
        m.put("user", services.database().user());
        m.put("password", services.database().password());
        m.put("redis_url", services.redis().toString());
        try {
            Files.writeString(
                    servicesFile,
                    new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(m));
        } catch (IOException e) {
            LOG.warn("could not write {}: {}", servicesFile, e.toString());
        }
    }

    public URI uri() {
        return URI.create("http://" + (server.getHost().contains(":") ? "[" + server.getHost() + "]" : server.getHost())
                + ":" + server.getPort());
    }

    public int port() {
        return server.getPort();
    }

    public ApplicationContext context() {
        return context;
    }

    public DataServices services() {
        return services;
    }

    /** Stops taking requests, drains what is in flight (interactions flushed), then stops the services. */
    @Override
    public void close() {
        try {
            context.close();
        } finally {
            try {
                Files.deleteIfExists(servicesFile);
            } catch (IOException e) {
                LOG.warn("could not delete {}: {}", servicesFile, e.toString());
            }
            services.close();
        }
    }
}
