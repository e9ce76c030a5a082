package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.infra.DataServices;
import java.net.URI;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code kill -9} of a real {@code twinserve serve} process (a child JVM) with a job running: its embedded
 * PostgreSQL and Redis outlive it, the next start stops them and starts afresh on the same data, and the job
 * is run again or failed, never gone. Requests it served while Redis refused writes and the interactions table was
 * away (so their usage and interactions were only in its memory and its journals) are counted and recorded after
 * the restart, each once.
 */
class KilledServerTest {
    private static final String SIMULATION = "{\"deployment\": {\"model\": \"llama-3.1-8b\", \"gpu\": \"h100-64gb\"},"
            + " \"workload\": {\"duration_s\": 1800, \"seed\": 3, \"arrivals\": {\"type\": \"poisson\", \"rate\": 50},"
            + " \"adapters\": {\"count\": 64, \"ranks\": [8]}, \"lengths\": {\"prompt\": {\"type\": \"fixed\","
            + " \"value\": 512}, \"output\": {\"type\": \"fixed\", \"value\": 128}}}}";

    @Test
    void aKilledServersDataServicesAreStoppedAtTheNextStartAndItsJobIsNotLost() throws Exception {
        assumeTrue(
                System.getenv("TWINSERVE_TEST_DATABASE_URL") == null
                        && System.getenv("TWINSERVE_TEST_REDIS_URL") == null,
                "needs the embedded servers");
        Path dir = Files.createTempDirectory("twinserve-killed");
        Process child = null;
        TwinserveServer restarted = null;
        try {
            child = serveInChildJvm(dir);
            URI uri = waitForServicesFile(dir, child);
            String key;
            try (AdminDatabase admin = AdminDatabase.open(dir)) {
                key = admin.access().createKey("killed-admin", Role.ADMIN).key();
            }
            JsonNode services = TestServer.JSON.readTree(
                    dir.resolve(TwinserveServer.SERVICES_FILE).toFile());
            int served = serveWithNothingStored(uri, key, services);
            HttpResponse<String> submitted = send(uri, "POST", "/api/simulations", key, SIMULATION);
            assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(202);
            String id = TestServer.JSON.readTree(submitted.body()).path("id").asText();
            waitUntil(() -> status(uri, key, id).equals("running"), "the job runs");

            JsonNode pids =
                    TestServer.JSON.readTree(dir.resolve(DataServices.PIDS_FILE).toFile());
            long pg = pids.path("postgres_pid").asLong();
            long redis = pids.path("redis_pid").asLong();
            child.destroyForcibly();
            child.waitFor(30, TimeUnit.SECONDS);
            assertThat(alive(pg)).as("PostgreSQL outlives the killed server").isTrue();
            assertThat(alive(redis)).as("Redis outlives the killed server").isTrue();

            restarted = TwinserveServer.start(
                    new TwinserveServer.Options(dir, null, null, "127.0.0.1", 0, false, Map.of()));
            assertThat(alive(pg)).as("the stale PostgreSQL was stopped").isFalse();
            assertThat(alive(redis)).as("the stale Redis was stopped").isFalse();
            URI again = restarted.uri();
            // run again from the start (or failed after too many attempts): never gone
            waitUntil(
                    () -> {
                        JsonNode j = job(again, key, id);
                        return List.of("succeeded", "failed")
                                .contains(j.path("status").asText());
                    },
                    "the job left running ends after the restart");
            JsonNode job = job(again, key, id);
            assertThat(job.path("attempts").asInt()).as("run again: %s", job).isEqualTo(2);
            assertThat(job.path("status").asText()).as(job.toString()).isEqualTo("succeeded");

            // the table is back: the interactions the killed server had not written arrive, and so does the usage
            var db = restarted.services().database();
            try (java.sql.Connection c = java.sql.DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
                c.createStatement().execute("alter table interactions_away rename to interactions");
                waitUntil(() -> interactions(c) == served, "the killed server's interactions are written");
                waitUntil(() -> usage(again, key) == served, "the killed server's usage is counted");
                assertThat(interactions(c)).isEqualTo(served);
            }
            assertThat(usage(again, key)).isEqualTo(served);
        } finally {
            if (restarted != null) {
                restarted.close();
            }
            if (child != null && child.isAlive()) {
                child.destroyForcibly();
            }
            TestServer.deleteTree(dir);
        }
    }

    /**
     * Makes Redis refuse writes and moves the interactions table away, then serves requests on a simulated
     * deployment: their usage and interactions stay in the server. Returns how many were served.
     */
    private int serveWithNothingStored(URI uri, String key, JsonNode services) throws Exception {
        assertThat(send(
                                uri,
                                "POST",
                                "/api/compute-pools",
                                key,
                                "{\"name\": \"pool\", \"gpu\": \"h100-sxm-80gb\"," + " \"gpus\": 8}")
                        .statusCode())
                .isEqualTo(201);
        assertThat(send(uri, "POST", "/api/models", key, "{\"name\": \"llama\", \"profile\": \"llama-3.1-8b\"}")
                        .statusCode())
                .isEqualTo(201);
        HttpResponse<String> deployed = send(
                uri,
                "POST",
                "/api/deployments",
                key,
                "{\"name\": \"killed\", \"model\": \"llama\", \"placement\": {\"compute_pools\": [\"pool\"]},"
                        + " \"time_scale\": 1000}");
        assertThat(deployed.statusCode()).as(deployed.body()).isEqualTo(201);
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(
                        services.path("jdbc_url").asText(),
                        services.path("user").asText(null),
                        services.path("password").asText(null));
                var redis = new io.twinserve.api.server.infra.Redis(
                        services.path("redis_url").asText(), 10_000)) {
            c.createStatement().execute("alter table interactions rename to interactions_away");
            redis.async().configSet("maxmemory-policy", "noeviction").get(10, TimeUnit.SECONDS);
            redis.async().configSet("maxmemory", "1").get(10, TimeUnit.SECONDS);
        }
        int served = 12;
        for (int i = 0; i < served; i++) {
            HttpResponse<String> r = send(
                    uri,
                    "POST",
                    "/v1/completions",
                    key,
                    "{\"model\": \"killed\", \"prompt\": \"before the kill " + i + "\", \"max_tokens\": 4}");
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        }
        return served;
    }

    private static long interactions(java.sql.Connection c) throws Exception {
        try (var rs =
                c.createStatement().executeQuery("select count(*) from interactions where deployment = 'killed'")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private long usage(URI uri, String key) throws Exception {
        HttpResponse<String> r = send(uri, "GET", "/api/usage?deployment=killed&minutes=60", key, null);
        if (r.statusCode() != 200) {
            return -1;
        }
        long n = 0;
        for (JsonNode m : TestServer.JSON.readTree(r.body()).path("minutes")) {
            n += m.path("requests").asLong();
        }
        return n;
    }

    private static Process serveInChildJvm(Path dir) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> cmd = new ArrayList<>(List.of(
                java,
                "-Xmx1g",
                "-cp",
                System.getProperty("java.class.path"),
                "io.twinserve.api.cli.TwinserveCommand",
                "serve",
                "--port",
                "0",
                "--data-dir",
                dir.toString()));
        return new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("child.log").toFile())
                .start();
    }

    private static URI waitForServicesFile(Path dir, Process child) throws Exception {
        Path file = dir.resolve(TwinserveServer.SERVICES_FILE);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!Files.isRegularFile(file) || Files.size(file) == 0) {
            if (!child.isAlive() || System.nanoTime() > deadline) {
                throw new AssertionError(
                        "the child server did not start:\n" + Files.readString(dir.resolve("child.log")));
            }
            Thread.sleep(100);
        }
        Thread.sleep(200);
        return URI.create(TestServer.JSON.readTree(file.toFile()).path("url").asText());
    }

    private JsonNode job(URI uri, String key, String id) throws Exception {
        return TestServer.JSON.readTree(
                send(uri, "GET", "/api/jobs/" + id, key, null).body());
    }

    private String status(URI uri, String key, String id) {
        try {
            return TestServer.JSON
                    .readTree(send(uri, "GET", "/api/jobs/" + id, key, null).body())
                    .path("status")
                    .asText();
        } catch (Exception e) {
            return "unreachable";
        }
    }

    private static HttpResponse<String> send(URI base, String method, String path, String key, String body)
            throws Exception {
        return KeyedHttp.send(base, key, method, path, body);
    }

    private static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    private interface Check {
        boolean holds() throws Exception;
    }

    private static void waitUntil(Check check, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(180);
        while (!check.holds()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out waiting until " + what);
            }
            Thread.sleep(100);
        }
    }
}
