package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.jobs.JobService;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Jobs survive a server restart: one left running by a server that died is run again and succeeds; one
 * that has used up its attempts is marked failed; none vanishes. A server that closes stops the worker JVM of
 * a running job, and the next start runs the job again in a new worker. Real PostgreSQL and Redis (embedded, or
 * the URLs / containers the environment offers), kept in one data folder across both server lives.
 */
class JobRestartTest {
    private static final String SIMULATION = """
      {"deployment": {"model": "llama-3.1-8b", "gpu": "h100-64gb", "replica": {"max_adapters": 8}},
       "workload": {"duration_s": 30, "seed": 7, "arrivals": {"type": "poisson", "rate": 2},
                    "adapters": {"count": 8, "ranks": [16]},
                    "lengths": {"prompt": {"type": "fixed", "value": 256}, "output": {"type": "fixed", "value": 64}}}}
      """;

    /** Minutes of work: 64 configurations of 300,000 requests. */
    private static final String LONG = """
      {"deployment": {"model": "llama-3.1-8b", "gpu": "h100-64gb", "replica": {"max_adapters": 8}},
       "workload": {"duration_s": 3000, "seed": 7, "arrivals": {"type": "poisson", "rate": 100},
                    "adapters": {"count": 8, "ranks": [16]},
                    "lengths": {"prompt": {"type": "fixed", "value": 256}, "output": {"type": "fixed", "value": 64}}},
       "sweep": ["replica.max_adapters=1,2,3,4,5,6,7,8", "replica.max_num_seqs=8,16,32,64,128,256,512,1024"]}
      """;

    @TempDir
    Path dir;

    private TwinserveServer start() {
        return TwinserveServer.start(new TwinserveServer.Options(
                dir,
                System.getenv("TWINSERVE_TEST_DATABASE_URL"),
                System.getenv("TWINSERVE_TEST_REDIS_URL"),
                "127.0.0.1",
                0,
                true,
                Map.of()));
    }

    @Test
    void aJobLeftRunningIsRunAgainAndOneOutOfAttemptsIsMarkedFailed() throws Exception {
        String key;
        String finished;
        try (TwinserveServer server = start()) {
            try (AdminDatabase admin = AdminDatabase.open(dir)) {
                key = admin.access().createKey("ops", Role.OPERATOR).key();
            }
            // a job that runs to the end in the first life gives the reference result
            finished = submit(server, key);
            JsonNode done = await(server, key, finished);
            assertThat(done.get("status").asText()).isEqualTo("succeeded");
            // what a server that dies mid-run leaves behind: rows still saying running
            var db = server.services().database();
            try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password())) {
                insertRunning(c, "11111111-1111-1111-1111-111111111111", 1);
                insertRunning(c, "22222222-2222-2222-2222-222222222222", 3);
            }
        }
        try (TwinserveServer server = start()) {
            JsonNode resumed = await(server, key, "11111111-1111-1111-1111-111111111111");
            assertThat(resumed.get("status").asText()).isEqualTo("succeeded");
            assertThat(resumed.get("attempts").asInt()).isEqualTo(2);
            JsonNode reference = get(server, key, "/api/simulations/" + finished);
            // deterministic runs: the rerun's figures are the first run's
            assertThat(resumed.get("result").get("summary"))
                    .isEqualTo(reference.get("result").get("summary"));
            String events = HttpClient.newHttpClient()
                    .send(
                            request(server, key, "/api/jobs/11111111-1111-1111-1111-111111111111/events")
                                    .build(),
                            HttpResponse.BodyHandlers.ofString())
                    .body();
            assertThat(events).contains("\"type\":\"resumed\"").contains("\"type\":\"succeeded\"");

            JsonNode gaveUp = await(server, key, "22222222-2222-2222-2222-222222222222");
            assertThat(gaveUp.get("status").asText()).isEqualTo("failed");
            assertThat(gaveUp.get("error").asText()).contains("gave up after 3 attempts");
        }
    }

    @Test
    void closingTheServerStopsTheJobsWorkerAndTheJobRunsAgainAtTheNextStart() throws Exception {
        String key;
        String id;
        ProcessHandle firstWorker;
        try (TwinserveServer server = start()) {
            try (AdminDatabase admin = AdminDatabase.open(dir)) {
                key = admin.access().createKey("ops", Role.OPERATOR).key();
            }
            id = submit(server, key, LONG);
            firstWorker = ProcessHandle.of(awaitWorker(server, id)).orElseThrow();
        }
        // closed: its worker is gone before the next server starts, so nothing can report to that one
        firstWorker.onExit().get(60, TimeUnit.SECONDS);
        assertThat(firstWorker.isAlive()).isFalse();

        try (TwinserveServer server = start()) {
            long secondWorker = awaitWorker(server, id);
            assertThat(secondWorker).isNotEqualTo(firstWorker.pid());
            JsonNode running = get(server, key, "/api/jobs/" + id);
            assertThat(running.get("status").asText()).isEqualTo("running");
            assertThat(running.get("attempts").asInt()).isEqualTo(2);
            HttpResponse<String> cancelled = HttpClient.newHttpClient()
                    .send(
                            request(server, key, "/api/jobs/" + id + "/cancel")
                                    .POST(HttpRequest.BodyPublishers.noBody())
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertThat(cancelled.statusCode()).as(cancelled.body()).isEqualTo(200);
            ProcessHandle.of(secondWorker).ifPresent(p -> p.onExit().join());
        }
    }

    /** The pid of the worker JVM that runs job {@code id}, once one does. */
    private static long awaitWorker(TwinserveServer server, String id) throws InterruptedException {
        JobService jobs = server.context().getBean(JobService.class);
        for (int i = 0; i < 1200; i++) {
            Optional<Long> pid = jobs.workerPid(id);
            if (pid.isPresent()) {
                return pid.get();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + id + " got no worker within two minutes");
    }

    private static void insertRunning(Connection c, String id, int attempts) throws Exception {
        try (PreparedStatement s =
                c.prepareStatement("insert into jobs (id, kind, status, request, attempts, started_at)"
                        + " values (?, 'simulation', 'running', ?, ?, now())")) {
            s.setString(1, id);
            s.setString(2, SIMULATION);
            s.setInt(3, attempts);
            s.executeUpdate();
        }
    }

    private static String submit(TwinserveServer server, String key) throws Exception {
        return submit(server, key, SIMULATION);
    }

    private static String submit(TwinserveServer server, String key, String body) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        request(server, key, "/api/simulations")
                                .header("content-type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return Bodies.JSON.readTree(r.body()).get("id").asText();
    }

    private static JsonNode await(TwinserveServer server, String key, String id) throws Exception {
        // the job's own events say when it ends: the stream closes after the last one
        HttpClient.newHttpClient()
                .send(
                        request(server, key, "/api/jobs/" + id + "/events").build(),
                        HttpResponse.BodyHandlers.discarding());
        return get(server, key, "/api/jobs/" + id);
    }

    private static JsonNode get(TwinserveServer server, String key, String path) throws Exception {
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(request(server, key, path).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return Bodies.JSON.readTree(r.body());
    }

    private static HttpRequest.Builder request(TwinserveServer server, String key, String path) {
        return HttpRequest.newBuilder(URI.create(server.uri() + path)).header("Authorization", "Bearer " + key);
    }
}
