package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.infra.DataServices;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Faults injected into a server of its own, with the embedded PostgreSQL and Redis (the servers these tests
 * kill): Redis and PostgreSQL killed under traffic and restarted by the supervisor, and a clean stop with
 * requests in flight. Every request is counted on the client and against the usage in Redis and the
 * interactions in PostgreSQL afterwards: nothing may be lost and nothing counted twice.
 */
class FaultsTest {
    private Path dir;
    private TwinserveServer server;
    private String adminKey;
    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    @BeforeEach
    void start() throws IOException {
        assumeTrue(
                System.getenv("TWINSERVE_TEST_DATABASE_URL") == null
                        && System.getenv("TWINSERVE_TEST_REDIS_URL") == null,
                "these tests kill the embedded servers; configured ones are not theirs to kill");
        dir = Files.createTempDirectory("twinserve-faults");
        server = startServer(dir);
        try (AdminDatabase admin = AdminDatabase.open(dir)) {
            adminKey = admin.access().createKey("faults-admin", Role.ADMIN).key();
        }
    }

    private static TwinserveServer startServer(Path dir) {
        return TwinserveServer.start(new TwinserveServer.Options(
                dir,
                null,
                null,
                "127.0.0.1",
                0,
                false,
                Map.of("twinserve.shutdown.grace-seconds", 60, "twinserve.inference.max-in-flight-per-replica", 8)));
    }

    @AfterEach
    void stop() {
        if (server != null) {
            server.close();
        }
        if (dir != null) {
            TestServer.deleteTree(dir);
        }
    }

    /** A simulated deployment priced by the twin, {@code timeScale} times faster than real time. */
    private void deploy(String name, double timeScale) {
        post("/api/compute-pools", "{\"name\": \"pool\", \"gpu\": \"h100-sxm-80gb\", \"gpus\": 8}");
        post("/api/models", "{\"name\": \"llama\", \"profile\": \"llama-3.1-8b\"}");
        Reply r = post(
                "/api/deployments",
                "{\"name\": \"" + name + "\", \"model\": \"llama\", \"compute_config\": {\"max_adapters\": 2},"
                        + " \"placement\": {\"compute_pools\": [\"pool\"]}, \"time_scale\": " + timeScale + "}");
        assertThat(r.status).as(r.body).isEqualTo(201);
    }

    @Test
    void redisKilledUnderTrafficLosesNoUsage() throws Exception {
        deploy("d", 1000);
        DataServices services = server.services();
        int ok = 0;
        ok += countOk(complete("d", 20));
        long redisPid = services.redisPid();
        kill(redisPid);
        // inference needs no Redis on its path: it goes on while Redis is down and while it comes back
        List<Integer> during = complete("d", 20);
        ok += countOk(during);
        waitFor(() -> services.redisRestarts() >= 1, "the supervisor restarts Redis");
        assertThat(services.redisPid()).isNotEqualTo(redisPid);
        ok += countOk(complete("d", 20));
        assertThat(ok).as("every request answered 200").isEqualTo(60);
        int served = ok;
        // the counts gathered while Redis was away reach it once it is back, each exactly once, by the flush that
        // runs every second on its own (read straight from Redis: the usage API would flush first)
        waitFor(() -> redisUsage("d") == served, "usage in Redis equals the requests served");
        assertThat(usageRequests("deployment=d")).isEqualTo(60);
    }

    @Test
    void postgresKilledUnderTrafficAnswers503AtOnceAndLosesNoInteraction() throws Exception {
        deploy("d", 1000);
        DataServices services = server.services();
        int ok = countOk(complete("d", 20));
        long pgPid = services.postgresPid();
        kill(pgPid);
        // the registry needs the database: 503 naming it, never the driver's text, never a hang. The killed
        // postmaster's backends may answer for a moment on a loaded machine (each notices its death in its own
        // time), so ask until the first refusal, then ten times more
        List<Reply> refused = new ArrayList<>();
        long askUntil = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < askUntil && services.postgresRestarts() == 0) {
            Reply r = get("/api/deployments");
            if (r.status != 200) {
                refused.add(r);
                break;
            }
        }
        long worstNs = 0;
        for (int i = 0; i < 10; i++) {
            long t0 = System.nanoTime();
            Reply r = get("/api/deployments");
            worstNs = Math.max(worstNs, System.nanoTime() - t0);
            if (r.status != 200) {
                refused.add(r);
            }
        }
        System.out.printf("PostgreSQL down: slowest registry answer %.0f ms%n", worstNs / 1e6);
        if (services.postgresRestarts() == 0) {
            assertThat(refused)
                    .as("registry calls refused while PostgreSQL was down")
                    .isNotEmpty();
        }
        for (Reply r : refused) {
            assertThat(r.status).as(r.body).isEqualTo(503);
            assertThat(r.body).contains("PostgreSQL is unavailable").doesNotContain("org.postgresql", "PSQL", "jdbc");
            assertThat(r.retryAfter).isNotNull();
        }
        // authentication fails closed: past the one second a checked key may be cached, no key is taken on trust
        Thread.sleep(1_100);
        Reply inference = post("/v1/completions", "{\"model\": \"d\", \"prompt\": \"hi\", \"max_tokens\": 2}");
        if (services.postgresRestarts() == 0 && !services.postgresAlive()) {
            assertThat(inference.status).as(inference.body).isEqualTo(503);
            assertThat(inference.body).contains("PostgreSQL is unavailable");
        } else {
            ok += inference.status == 200 ? 1 : 0;
        }
        waitFor(() -> services.postgresRestarts() >= 1, "the supervisor restarts PostgreSQL");
        waitFor(() -> get("/api/deployments").status == 200, "the registry answers again");
        var dependencies = server.context().getBean(io.twinserve.api.server.infra.Dependencies.class);
        waitFor(
                () -> get("/api/keys").status == 200
                        && dependencies.databaseState().equals("closed"),
                "the circuit breaker closes again");
        ok += countOk(complete("d", 20));
        int served = ok;
        waitFor(() -> interactions("d") == served, "every served request has its interaction row");
        assertThat(interactions("d")).isEqualTo(served).isGreaterThanOrEqualTo(40);
    }

    @Test
    void anOverloadedDeploymentAnswers503WithRetryAfter() throws Exception {
        deploy("busy", 1);
        // eight requests fill the replica's admission limit (8 in flight); the ninth is refused at once
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Reply>> held = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            held.add(pool.submit(() -> post(
                    "/v1/completions",
                    "{\"model\": \"busy\", \"prompt\": \"a long story\", \"max_tokens\": 128, \"ignore_eos\": true}")));
        }
        var deployments = server.context().getBean(io.twinserve.api.server.inference.DeploymentManager.class);
        waitFor(() -> deployments.inFlight() == 8, "eight requests in flight");
        Reply refused = post("/v1/completions", "{\"model\": \"busy\", \"prompt\": \"x\", \"max_tokens\": 1}");
        assertThat(refused.status).as(refused.body).isEqualTo(503);
        assertThat(refused.retryAfter).isEqualTo("1");
        assertThat(refused.body).contains("overloaded", "TWINSERVE_MAX_IN_FLIGHT_PER_REPLICA");
        for (Future<Reply> f : held) {
            assertThat(f.get(120, TimeUnit.SECONDS).status).isEqualTo(200);
        }
        pool.shutdown();
        // and once the replica has room again, a request is served
        assertThat(post("/v1/completions", "{\"model\": \"busy\", \"prompt\": \"x\", \"max_tokens\": 1}").status)
                .isEqualTo(200);
    }

    @Test
    void aCleanStopFinishesInFlightRequestsAndKeepsTheirUsageAndInteractions() throws Exception {
        deploy("slow", 1);
        // eight requests of 64 tokens at real speed on the simulated GPU: in flight when the stop begins
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<Reply>> inFlight = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            inFlight.add(pool.submit(() -> post(
                    "/v1/completions",
                    "{\"model\": \"slow\", \"prompt\": \"tell me a story\", \"max_tokens\": 64,"
                            + " \"ignore_eos\": true}")));
        }
        waitFor(
                () -> server.context()
                                .getBean(io.twinserve.api.server.inference.DeploymentManager.class)
                                .inFlight()
                        == 8,
                "eight requests in flight");
        URI uri = server.uri();
        Future<?> stopping = pool.submit(server::close);
        waitFor(
                () -> server.context()
                        .getBean(io.twinserve.api.server.lifecycle.Drain.class)
                        .draining(),
                "the stop begins");
        Reply late =
                send("POST", uri, "/v1/completions", "{\"model\": \"slow\", \"prompt\": \"x\", \"max_tokens\": 1}");
        assertThat(late.status)
                .as("a request after the stop began: %s", late.body)
                .isIn(503, -1);
        int ok = 0;
        for (Future<Reply> f : inFlight) {
            Reply r = f.get(120, TimeUnit.SECONDS);
            assertThat(r.status).as(r.body).isEqualTo(200);
            assertThat(r.body).contains("\"completion_tokens\":64");
            ok++;
        }
        stopping.get(120, TimeUnit.SECONDS);
        pool.shutdown();
        server = startServer(dir);
        int served = ok;
        assertThat(interactions("slow")).as("interactions after the restart").isEqualTo(served);
        assertThat(usageRequests("deployment=slow"))
                .as("usage after the restart")
                .isEqualTo(served);
    }

    // ---- helpers

    /** {@code kill -9}, and waits until the process is gone. */
    private static void kill(long pid) throws Exception {
        ProcessHandle h = ProcessHandle.of(pid).orElseThrow();
        h.destroyForcibly();
        h.onExit().get(10, TimeUnit.SECONDS);
    }

    private record Reply(int status, String body, String retryAfter) {}

    private Reply post(String path, String body) {
        return send("POST", server.uri(), path, body);
    }

    private Reply get(String path) {
        return send("GET", server.uri(), path, null);
    }

    /** An answer, or status -1 when the connection was refused or closed (the server has stopped listening). */
    private Reply send(String method, URI base, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(120))
                .header("Authorization", "Bearer " + adminKey);
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(
                    r.statusCode(),
                    r.body(),
                    r.headers().firstValue("Retry-After").orElse(null));
        } catch (IOException e) {
            return new Reply(-1, e.toString(), null);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private List<Integer> complete(String deployment, int n) {
        List<Integer> statuses = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            statuses.add(post(
                            "/v1/completions",
                            "{\"model\": \"" + deployment + "\", \"prompt\": \"hello " + i + "\", \"max_tokens\": 4}")
                    .status);
        }
        return statuses;
    }

    private static int countOk(List<Integer> statuses) {
        assertThat(statuses).as("inference answers").containsOnly(200);
        return statuses.size();
    }

    private long usageRequests(String query) {
        Reply r = get("/api/usage?" + query + "&minutes=30");
        if (r.status != 200) {
            return -1;
        }
        long n = 0;
        try {
            for (JsonNode m : TestServer.JSON.readTree(r.body).path("minutes")) {
                n += m.path("requests").asLong();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return n;
    }

    /** Requests counted in Redis for a deployment, read without the usage API (which flushes first). */
    private long redisUsage(String deployment) {
        try {
            var redis = server.context()
                    .getBean(io.twinserve.api.server.infra.Redis.class)
                    .async();
            long n = 0;
            for (String key :
                    redis.keys("twinserve:usage:*:deployment:" + deployment).get(5, TimeUnit.SECONDS)) {
                String v = redis.hget(key, "requests").get(5, TimeUnit.SECONDS);
                n += v == null ? 0 : Long.parseLong(v);
            }
            return n;
        } catch (Exception e) {
            return -1;
        }
    }

    private long interactions(String deployment) {
        DataServices.Database db = server.services().database();
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                PreparedStatement s =
                        c.prepareStatement("select count(*) from interactions where deployment = ? and status = 200")) {
            s.setString(1, deployment);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        } catch (Exception e) {
            return -1;
        }
    }

    /** Polls until {@code condition} holds; fails after a minute (a liveness bound, not a timing claim). */
    private static void waitFor(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(100);
        }
    }
}
