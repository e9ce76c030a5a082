package io.twinserve.api.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.micronaut.context.ApplicationContext;
import io.micronaut.runtime.server.EmbeddedServer;
import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.infra.DataServices;
import io.twinserve.api.server.interactions.InteractionWriter;
import io.twinserve.api.server.lifecycle.Drain;
import io.twinserve.api.server.usage.UsageStats;
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
                    .singletons(services)
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

    /**
     * Stops in the order that loses nothing: new requests get 503 while those in flight finish (at most
     * {@code twinserve.shutdown.grace-seconds}), the HTTP server stops, usage and interactions are flushed to
     * Redis and PostgreSQL (or kept on disk if those are away), and only then do Redis and PostgreSQL stop.
     */
    @Override
    public void close() {
        try {
            drain();
        } catch (RuntimeException e) {
            LOG.warn("draining before the stop failed: {}", e.toString());
        } finally {
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

    private void drain() {
        long graceSeconds = context.getProperty("twinserve.shutdown.grace-seconds", Long.class)
                .orElse(30L);
        Drain drain = context.getBean(Drain.class);
        DeploymentManager deployments = context.getBean(DeploymentManager.class);
        drain.begin();
        long deadline = System.nanoTime() + graceSeconds * 1_000_000_000L;
        while ((drain.inFlight() > 0 || deployments.inFlight() > 0) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        int left = Math.max(drain.inFlight(), deployments.inFlight());
        if (left > 0) {
            LOG.warn("stopping with {} request(s) still in flight after the {} s grace period", left, graceSeconds);
        } else {
            LOG.info("drained: no request in flight");
        }
        // flushed while the context still runs (stopping the HTTP server stops the context too); requests that
        // come now are refused by the drain, and one that outlived the grace period is flushed by the beans'
        // own close (usage) or goes to the spill file (interactions)
        context.getBean(UsageStats.class).close(5_000);
        context.getBean(InteractionWriter.class).close();
        server.stop();
    }
}
