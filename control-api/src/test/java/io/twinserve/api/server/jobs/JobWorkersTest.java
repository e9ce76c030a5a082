package io.twinserve.api.server.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.Bodies;
import io.twinserve.experiments.report.ReportJson;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job's worker JVM, started as the server starts it (its java binary and class path: here the test
 * runner's manifest-only jar): it gives the result the same run gives in-process, is stopped past its time
 * with a sentence naming the setting, and ends on its own when the server that started it goes away.
 */
class JobWorkersTest {
    /** A small what-if: seconds in a worker. */
    static final String SMALL = """
      {"deployment": {"model": "llama-3.1-8b", "gpu": "h100-64gb", "replica": {"max_adapters": 8}},
       "workload": {"duration_s": 30, "seed": 7, "arrivals": {"type": "poisson", "rate": 2},
                    "adapters": {"count": 8, "ranks": [16]},
                    "lengths": {"prompt": {"type": "fixed", "value": 256}, "output": {"type": "fixed", "value": 64}}},
       "seed": 11}
      """;

    /** 64 configurations of 300,000 requests each: within the job limits, and minutes of work in any heap. */
    static final String LONG = """
      {"deployment": {"model": "llama-3.1-8b", "gpu": "h100-64gb", "replica": {"max_adapters": 8}},
       "workload": {"duration_s": 3000, "seed": 7, "arrivals": {"type": "poisson", "rate": 100},
                    "adapters": {"count": 8, "ranks": [16]},
                    "lengths": {"prompt": {"type": "fixed", "value": 256}, "output": {"type": "fixed", "value": 64}}},
       "sweep": ["replica.max_adapters=1,2,3,4,5,6,7,8", "replica.max_num_seqs=8,16,32,64,128,256,512,1024"]}
      """;

    @TempDir
    Path dir;

    private static ObjectNode json(String text) throws Exception {
        return (ObjectNode) Bodies.JSON.readTree(text);
    }

    @Test
    void aJobInAWorkerGivesTheResultOfTheSameRunInProcess() throws Exception {
        List<Double> fractions = new ArrayList<>();
        JobWorkers.Outcome outcome;
        try (JobWorkers workers = new JobWorkers(new JobBudget(1, "512m", 1, 600, 4))) {
            outcome = workers.run(
                    "same", 1, "simulation", json(SMALL), dir.resolve("worker"), (f, stage) -> fractions.add(f));
        }
        assertThat(outcome).isInstanceOf(JobWorkers.Outcome.Succeeded.class);
        JsonNode inWorker = ((JobWorkers.Outcome.Succeeded) outcome).result();

        // what the server ran before jobs had workers: the same request, read and run in this JVM
        java.nio.file.Files.createDirectories(dir.resolve("in-process"));
        Object document = JobWork.read("simulation", json(SMALL), dir.resolve("in-process"))
                .run((f, stage) -> {});
        JsonNode inProcess = Bodies.JSON.readTree(ReportJson.write(document));

        assertThat(inWorker.get("summary")).isNotNull();
        assertThat(inWorker).isEqualTo(inProcess);
        assertThat(fractions).isNotEmpty().last().isEqualTo(1.0);
    }

    @Test
    void aJobPastItsTimeIsStoppedAndFailedNamingTheSetting() throws Exception {
        JobWorkers.Outcome outcome;
        try (JobWorkers workers = new JobWorkers(new JobBudget(1, "256m", 1, 2, 4))) {
            outcome = workers.run("slow", 1, "simulation", json(LONG), dir, (f, stage) -> {});
        }
        assertThat(outcome).isInstanceOf(JobWorkers.Outcome.Failed.class);
        assertThat(((JobWorkers.Outcome.Failed) outcome).error())
                .contains("longer than the 2 s")
                .contains("twinserve.jobs.max-seconds")
                .contains("smaller workload")
                .doesNotContain("Exception");
    }

    @Test
    void aWorkerEndsOnItsOwnWhenTheServerThatStartedItIsGone() throws Exception {
        // the worker exactly as the server starts it, with this test in the server's place
        Process p = new ProcessBuilder(JobWorkers.command(new JobBudget(1, "256m", 1, 600, 4)))
                .redirectError(dir.resolve("worker.log").toFile())
                .start();
        try {
            ObjectNode job = Bodies.JSON.createObjectNode();
            job.put("job", "orphan");
            job.put("kind", "simulation");
            job.set("request", json(LONG));
            job.put("dir", dir.toString());
            OutputStream in = p.getOutputStream();
            in.write((job + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            assertThat(out.readLine()).contains("\"ready\"");
            // what a server killed with kill -9 leaves its worker: the end of the pipe it was reading
            in.close();
            assertThat(p.waitFor(60, TimeUnit.SECONDS))
                    .as("the worker ended after its input closed")
                    .isTrue();
            assertThat(p.exitValue()).isEqualTo(JobWorker.ORPHANED);
            String line;
            while ((line = out.readLine()) != null) {
                assertThat(line).as("an orphaned worker reports no result").doesNotContain("succeeded");
            }
        } finally {
            p.destroyForcibly();
        }
    }

    @Test
    void theHeapSettingIsReadAsTheJvmReadsXmx() {
        assertThat(JobBudget.heapBytes("48m")).isEqualTo(48L << 20);
        assertThat(JobBudget.heapBytes("2G")).isEqualTo(2L << 30);
        assertThat(new JobBudget(1, "48m", 1, 60, 1).heapText()).isEqualTo("48 MiB");
        assertThat(new JobBudget(1, "2g", 1, 60, 1).heapText()).isEqualTo("2 GiB");
        assertThatThrownBy(() -> new JobBudget(1, "2 gigabytes", 1, 60, 1))
                .hasMessageContaining("twinserve.jobs.heap")
                .hasMessageContaining("2g or 512m");
        assertThatThrownBy(() -> new JobBudget(1, "8m", 1, 60, 1)).hasMessageContaining("at least 16m");
        assertThatThrownBy(() -> new JobBudget(0, "2g", 1, 60, 1)).hasMessageContaining("twinserve.jobs.workers");
        assertThatThrownBy(() -> new JobBudget(1, "2g", 1, 60, 0)).hasMessageContaining("twinserve.jobs.per-user");
    }
}
