package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.inference.DeploymentManager;
import io.twinserve.api.server.inference.DeploymentRuntime;
import io.twinserve.api.server.infra.DataServices;
import io.twinserve.api.server.interactions.InteractionWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * One running server shared by every test class that asks for it (starting one costs seconds), with the
 * databases chosen as everywhere in tests: {@code TWINSERVE_TEST_DATABASE_URL} / {@code
 * TWINSERVE_TEST_REDIS_URL}, else Testcontainers when a Docker engine answers, else the embedded servers in a
 * temporary folder. Names made with {@link #unique} keep runs apart when the database outlives the run.
 */
final class TestServer implements AutoCloseable {
    /** The request size limit the shared server runs with, small so the oversized-body test stays cheap. */
    static final int MAX_REQUEST_BYTES = 256 * 1024;

    static final ObjectMapper JSON = new ObjectMapper();

    private final Path dataDir;
    private final TwinserveServer server;
    private final String adminKey;
    private final String runId = UUID.randomUUID().toString().substring(0, 8);
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();

    private TestServer(Path dataDir, TwinserveServer server, String adminKey) {
        this.dataDir = dataDir;
        this.server = server;
        this.adminKey = adminKey;
    }

    static TestServer start() {
        return start(Map.of());
    }

    /** A server of its own, with more Micronaut properties ({@code twinserve.jobs.heap}, ...), for one test class. */
    static TestServer start(Map<String, Object> properties) {
        Map<String, Object> all = new java.util.HashMap<>(properties);
        all.putIfAbsent("micronaut.server.max-request-size", MAX_REQUEST_BYTES);
        Path dir;
        try {
            dir = Files.createTempDirectory("twinserve-apitest");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        TwinserveServer server = TwinserveServer.start(new TwinserveServer.Options(
                dir, env("TWINSERVE_TEST_DATABASE_URL"), env("TWINSERVE_TEST_REDIS_URL"), "127.0.0.1", 0, true, all));
        try (AdminDatabase admin = AdminDatabase.open(dir)) {
            // the first key comes the way `twinserve admin create-key` makes it: straight in the database
            String key = admin.access().createKey("apitest-admin", Role.ADMIN).key();
            return new TestServer(dir, server, key);
        } catch (RuntimeException e) {
            server.close();
            deleteTree(dir);
            throw e;
        }
    }

    private static String env(String name) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? null : v.strip();
    }

    URI uri() {
        return server.uri();
    }

    String adminKey() {
        return adminKey;
    }

    TwinserveServer server() {
        return server;
    }

    Path dataDir() {
        return dataDir;
    }

    /** {@code base} made unique to this server's run (registry names, user names). */
    String unique(String base) {
        return base + "-" + runId;
    }

    /** An HTTP answer, its body as text and (when it is JSON) parsed. */
    record Reply(int status, String body, String contentType, java.net.http.HttpHeaders headers) {
        JsonNode json() {
            try {
                return JSON.readTree(body);
            } catch (IOException e) {
                throw new AssertionError("not JSON (status " + status + "): " + body, e);
            }
        }

        /** The OpenAI error object, checked to have the shape OpenAI clients parse. */
        JsonNode error() {
            JsonNode e = json().path("error");
            assertThat(e.isObject()).as("OpenAI error JSON in %s", body).isTrue();
            assertThat(e.path("message").asText())
                    .as("error message in %s", body)
                    .isNotBlank();
            assertThat(e.path("type").asText()).as("error type in %s", body).isNotBlank();
            return e;
        }
    }

    Reply send(String method, String path, String key, String body) {
        return send(method, path, key, body == null ? null : HttpRequest.BodyPublishers.ofString(body), Map.of());
    }

    Reply send(String method, String path, String key, HttpRequest.BodyPublisher body, Map<String, String> headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri().resolve(path)).timeout(Duration.ofSeconds(60));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        headers.forEach(b::header);
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : body);
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(
                    r.statusCode(),
                    r.body(),
                    r.headers().firstValue("Content-Type").orElse(""),
                    r.headers());
        } catch (IOException e) {
            throw new UncheckedIOException(method + " " + path + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    Reply post(String path, String key, String body) {
        return send("POST", path, key, body);
    }

    Reply get(String path, String key) {
        return send("GET", path, key, null);
    }

    Reply delete(String path, String key) {
        return send("DELETE", path, key, null);
    }

    /** POSTs as admin and insists on 201; returns the created object. */
    JsonNode create(String path, String body) {
        Reply r = post(path, adminKey, body);
        assertThat(r.status()).as("POST %s %s -> %s", path, body, r.body()).isEqualTo(201);
        return r.json();
    }

    /**
     * A simulated Llama-3.1-8B deployment {@code unique(base)} on an 8-GPU H100 pool of its own, its clock {@code
     * timeScale} times faster than the wall's; returns its name.
     */
    String simulatedDeployment(String base, double timeScale) {
        String pool = unique(base + "-h100");
        String model = unique(base + "-llama8b");
        String name = unique(base);
        create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        create(
                "/api/deployments",
                "{\"name\": \"" + name + "\", \"model\": \"" + model + "\", \"time_scale\": " + timeScale
                        + ", \"placement\": {\"compute_pools\": [\"" + pool + "\"]}}");
        return name;
    }

    /** A new key for {@code user} (created with {@code role}), made through the API. */
    JsonNode createKey(String user, String role) {
        return create("/api/keys", "{\"user\": \"" + user + "\", \"role\": \"" + role + "\"}");
    }

    /** The running deployment {@code name} inside the server, for what only its replicas can tell. */
    DeploymentRuntime deployment(String name) {
        return server.context().getBean(DeploymentManager.class).get(name);
    }

    /** Waits until every interaction recorded so far is in PostgreSQL. */
    void flushInteractions() throws InterruptedException {
        server.context().getBean(InteractionWriter.class).flush(30_000);
    }

    /** A plain JDBC connection to the server's own database. */
    Connection jdbc() throws SQLException {
        DataServices.Database db = server.services().database();
        return DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
    }

    /** A count from PostgreSQL: {@code sql} with one long parameter. */
    long count(String sql, long parameter) throws SQLException {
        try (Connection c = jdbc();
                PreparedStatement s = c.prepareStatement(sql)) {
            s.setLong(1, parameter);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Override
    public void close() {
        try {
            server.close();
        } finally {
            deleteTree(dataDir);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary folder is not worth failing a test run over
        }
    }

    /**
     * Gives test methods (and static {@code @BeforeAll} methods) the shared server, started on first use and
     * closed when the test run ends.
     */
    static final class Extension implements ParameterResolver {
        private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(TestServer.class);

        @Override
        public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
            return parameter.getParameter().getType() == TestServer.class;
        }

        @Override
        public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
            return context.getRoot().getStore(NAMESPACE).getOrComputeIfAbsent("server", k -> start(), TestServer.class);
        }
    }
}
