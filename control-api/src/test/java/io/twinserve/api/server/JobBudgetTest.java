package io.twinserve.api.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.api.server.jobs.JobService;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Jobs cannot hurt serving. On a server of its own that grants a job a 48 MiB heap, one worker and two jobs
 * per user (real PostgreSQL and Redis): a job that passes the submission limits but needs more memory fails
 * with a sentence naming the budget while inference on the same server answers every request; a user's
 * third job is refused with 429 and Retry-After until one of the first two ends; cancelling a running job
 * stops its worker JVM.
 */
class JobBudgetTest {
    private static final String DEPLOYMENT_SPEC =
            "\"deployment\": {\"model\": \"llama-3.1-8b\", \"gpu\": \"h100-64gb\", \"replica\": {\"max_adapters\": 8}}";
    private static final String LENGTHS = "\"lengths\": {\"prompt\": {\"type\": \"fixed\", \"value\": 256},"
            + " \"output\": {\"type\": \"fixed\", \"value\": 64}}";

    /** 1.8 million requests: within the job limits (2 million), beyond what 48 MiB holds. */
    private static final String LARGE = "{" + DEPLOYMENT_SPEC + ", \"workload\": {\"duration_s\": 3600, \"seed\": 7,"
            + " \"arrivals\": {\"type\": \"poisson\", \"rate\": 500}, \"adapters\": {\"count\": 8, \"ranks\": [16]}, "
            + LENGTHS + "}}";

    /** 64 configurations of 300,000 requests: within the limits and the heap, and minutes of work. */
    private static final String LONG = "{" + DEPLOYMENT_SPEC + ", \"workload\": {\"duration_s\": 3000, \"seed\": 7,"
            + " \"arrivals\": {\"type\": \"poisson\", \"rate\": 100}, \"adapters\": {\"count\": 8, \"ranks\": [16]}, "
            + LENGTHS + "}, \"sweep\": [\"replica.max_adapters=1,2,3,4,5,6,7,8\","
            + " \"replica.max_num_seqs=8,16,32,64,128,256,512,1024\"]}";

    private static TestServer server;
    private static String deployment;
    private static String operatorKey;
    private final List<String> submitted = new ArrayList<>();

    @BeforeAll
    static void start() {
        server = TestServer.start(Map.of(
                "twinserve.jobs.heap", "48m",
                "twinserve.jobs.workers", 1,
                "twinserve.jobs.per-user", 2));
        deployment = server.unique("served");
        String pool = server.unique("budget-h100");
        String model = server.unique("budget-llama8b");
        server.create("/api/compute-pools", "{\"name\": \"" + pool + "\", \"gpu\": \"h100-sxm-80gb\"}");
        server.create("/api/models", "{\"name\": \"" + model + "\", \"profile\": \"llama-3.1-8b\"}");
        server.create(
                "/api/deployments",
                "{\"name\": \"" + deployment + "\", \"model\": \"" + model
                        + "\", \"placement\": {\"compute_pools\": [\"" + pool + "\"]}, \"time_scale\": 100}");
        operatorKey = server.createKey(server.unique("budget-op"), "operator")
                .get("key")
                .asText();
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    /** Leaves the single worker free for the next test: every job a test left queued or running is cancelled. */
    @AfterEach
    void cancelLeftovers() {
        for (String id : submitted) {
            server.post("/api/jobs/" + id + "/cancel", server.adminKey(), null);
        }
    }

    private String submit(String key, String body) {
        TestServer.Reply r = server.post("/api/simulations", key, body);
        assertThat(r.status()).as(r.body()).isEqualTo(202);
        String id = r.json().get("id").asText();
        submitted.add(id);
        return id;
    }

    private static JsonNode job(String id) {
        TestServer.Reply r = server.get("/api/jobs/" + id, server.adminKey());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        return r.json();
    }

    private static String status(String id) {
        return job(id).get("status").asText();
    }

    private static JobService jobs() {
        return server.server().context().getBean(JobService.class);
    }

    @Test
    void aJobBeyondItsHeapFailsCleanlyWhileInferenceKeepsAnswering() {
        String user = server.createKey(server.unique("budget-large"), "user")
                .get("key")
                .asText();
        String id = submit(user, LARGE);
        String completion = "{\"model\": \"" + deployment + "\", \"prompt\": \"hello\", \"max_tokens\": 8}";
        int sent = 0;
        int sentWhileRunning = 0;
        List<Integer> notOk = new ArrayList<>();
        String status = status(id);
        while (status.equals("queued") || status.equals("running")) {
            TestServer.Reply r = server.post("/v1/completions", operatorKey, completion);
            sent++;
            if (r.status() != 200) {
                notOk.add(r.status());
            }
            String after = status(id);
            if (status.equals("running") && after.equals("running")) {
                // the job's worker was running before this request was sent and after it was answered
                sentWhileRunning++;
            }
            status = after;
        }
        System.out.printf(
                "JobBudgetTest: %d inference requests while the job was queued or running (%d while it ran), %d not 200%n",
                sent, sentWhileRunning, notOk.size());
        assertThat(notOk).as("answers other than 200 among %d requests", sent).isEmpty();
        assertThat(sentWhileRunning).as("requests sent while the job ran").isPositive();

        JsonNode failed = job(id);
        assertThat(failed.get("status").asText()).isEqualTo("failed");
        String error = failed.get("error").asText();
        assertThat(error)
                .contains("48 MiB")
                .contains("twinserve.jobs.heap")
                .contains("smaller workload")
                .doesNotContain("OutOfMemoryError")
                .doesNotContain("Java heap space")
                .doesNotContain("java.");
    }

    @Test
    void aUsersJobsBeyondTheQuotaAreRefusedWith429UntilOneEnds() throws Exception {
        String userName = server.unique("budget-quota");
        String key = server.createKey(userName, "user").get("key").asText();
        String otherKeyOfTheSameUser =
                server.createKey(userName, "user").get("key").asText();
        String first = submit(key, LONG);
        String second = submit(otherKeyOfTheSameUser, LONG);
        long rowsBefore = server.count("select count(*) from jobs where attempts >= ?", 0);

        TestServer.Reply refused = server.post("/api/simulations", key, LONG);
        assertThat(refused.status()).as(refused.body()).isEqualTo(429);
        assertThat(refused.headers().firstValue("Retry-After")).contains("30");
        assertThat(refused.error().path("code").asText()).isEqualTo("job_quota_exceeded");
        assertThat(refused.error().path("message").asText())
                .contains("2 jobs queued or running")
                .contains("twinserve.jobs.per-user = 2")
                .contains("/cancel");
        assertThat(server.post("/api/plans", otherKeyOfTheSameUser, "{}").status())
                .isEqualTo(429);
        assertThat(server.count("select count(*) from jobs where attempts >= ?", 0))
                .as("no row for a refused job")
                .isEqualTo(rowsBefore);

        // operators are not counted: their jobs wait for the same workers
        for (int i = 0; i < 3; i++) {
            submit(operatorKey, LONG);
        }

        TestServer.Reply cancelled = server.post("/api/jobs/" + second + "/cancel", key, null);
        assertThat(cancelled.status()).as(cancelled.body()).isEqualTo(200);
        assertThat(cancelled.json().get("status").asText()).isEqualTo("cancelled");
        assertThat(server.post("/api/jobs/" + second + "/cancel", key, null).status())
                .as("a job that has ended cannot be cancelled again")
                .isEqualTo(409);
        submit(key, LONG);
        assertThat(status(first)).isIn("queued", "running");
    }

    @Test
    void cancellingARunningJobStopsItsWorker() throws Exception {
        String key = server.createKey(server.unique("budget-cancel"), "user")
                .get("key")
                .asText();
        String id = submit(key, LONG);
        long pid = awaitWorker(id);
        ProcessHandle worker = ProcessHandle.of(pid).orElseThrow();

        TestServer.Reply r = server.post("/api/jobs/" + id + "/cancel", key, null);
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        worker.onExit().get(60, TimeUnit.SECONDS);
        assertThat(worker.isAlive()).isFalse();
        assertThat(status(id)).isEqualTo("cancelled");
        // the events end with the cancellation
        TestServer.Reply events = server.get("/api/jobs/" + id + "/events", key);
        assertThat(events.body()).contains("\"type\":\"cancelled\"");
    }

    /** The pid of the worker JVM that runs job {@code id}, once it runs (the one worker may finish another first). */
    private static long awaitWorker(String id) throws InterruptedException {
        for (int i = 0; i < 1200; i++) {
            Optional<Long> pid = jobs().workerPid(id);
            if (pid.isPresent()) {
                return pid.get();
            }
            Thread.sleep(100);
        }
        throw new AssertionError("job " + id + " did not start within two minutes: " + job(id));
    }
}
