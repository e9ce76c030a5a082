package io.twinserve.api.server.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.Bodies;
import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BiConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The worker JVMs that run jobs, one per running job, apart from the serving JVM: started with the server's
 * own java binary and class path (the shipped jar, or the build's folders in tests), the budget's heap and
 * processors, and none of the server's own options (an AOT cache, a debugger, its heap). A worker that runs
 * past the budget's time is stopped; one that runs out of memory, or dies, fails its job with a sentence
 * that names the budget and what to do.
 */
final class JobWorkers implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(JobWorkers.class);

    /** How a worker's run ended. */
    sealed interface Outcome {
        /** The job's result, the JSON that {@code twinserve what-if/plan --json} prints. */
        record Succeeded(JsonNode result) implements Outcome {}

        /** The job failed; {@code error} is for its owner. */
        record Failed(String error) implements Outcome {}

        /** Stopped by the server (the job cancelled, or the server closing): nothing is to be recorded. */
        record Stopped() implements Outcome {}
    }

    private final JobBudget budget;
    private final List<String> command;
    private final Map<String, Process> running = new ConcurrentHashMap<>();
    private final Map<String, Boolean> stopRequested = new ConcurrentHashMap<>();
    private final ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "twinserve-jobs-clock");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean closed;

    JobWorkers(JobBudget budget) {
        this.budget = budget;
        this.command = command(budget);
    }

    /** The worker's command line, up to its main class. */
    static List<String> command(JobBudget budget) {
        List<String> c = new ArrayList<>();
        c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        c.add("-Xmx" + budget.heap());
        c.add("-XX:ActiveProcessorCount=" + budget.cpus());
        // no hsperfdata file per worker in /tmp
        c.add("-XX:-UsePerfData");
        // protobuf (inside Tribuo, which plans load) still uses sun.misc.Unsafe, as in the launcher
        c.add("--sun-misc-unsafe-memory-access=allow");
        c.add("--enable-native-access=ALL-UNNAMED");
        String classPath = classPath();
        startupCache(classPath).ifPresent(aot -> {
            c.add("-XX:AOTCache=" + aot);
            // a cache the JVM cannot use costs start-up time only: not worth a line in the worker's log
            c.add("-Xlog:aot=off");
            c.add("-Xlog:cds=off");
        });
        c.add("-cp");
        c.add(classPath);
        c.add(JobWorker.class.getName());
        return List.copyOf(c);
    }

    /**
     * The JDK's start-up cache that the launcher ({@code twinserve}) keeps beside the shipped jar, when the
     * class path is that jar and the cache was made from it: made with the options a worker runs with
     * (no Vector API module), it halves a worker's start (docs/serve.md). None in tests and builds.
     */
    static Optional<Path> startupCache(String classPath) {
        if (classPath == null || !classPath.endsWith(".jar") || classPath.contains(File.pathSeparator)) {
            return Optional.empty();
        }
        Path jar = Path.of(classPath).toAbsolutePath();
        Path aot = Path.of(jar + ".aot");
        Path madeFor = Path.of(jar + ".aot.for");
        try {
            if (Files.isRegularFile(aot)
                    && Files.readString(madeFor).strip().equals(jar.toString())
                    && !Files.getLastModifiedTime(jar)
                            .toInstant()
                            .isAfter(Files.getLastModifiedTime(aot).toInstant())) {
                return Optional.of(aot);
            }
        } catch (IOException e) {
            // no record of what the cache was made from: not used
        }
        return Optional.empty();
    }

    /**
     * The class path the server's own classes came from: the JVM's (the shipped jar, or under Maven's
     * test runner its manifest-only jar, which the child JVM follows as this one did), or the folders and
     * jars of the class loader that loaded the server when it is not the JVM's own.
     */
    static String classPath() {
        ClassLoader loader = JobWorker.class.getClassLoader();
        if (loader != ClassLoader.getSystemClassLoader() && loader instanceof URLClassLoader urls) {
            List<String> entries = new ArrayList<>();
            for (URL u : urls.getURLs()) {
                try {
                    entries.add(Path.of(u.toURI()).toString());
                } catch (URISyntaxException | IllegalArgumentException e) {
                    LOG.warn("class path entry {} is not a file; job workers will not see it", u);
                }
            }
            return String.join(File.pathSeparator, entries);
        }
        return System.getProperty("java.class.path");
    }

    /**
     * Runs one job in a new worker and waits for it: {@code progress} hears the fractions it reports. The
     * worker's standard error (its log) goes to {@code worker-<attempt>.log} in the job's folder.
     */
    Outcome run(String id, int attempt, String kind, JsonNode request, Path dir, BiConsumer<Double, String> progress)
            throws IOException {
        if (closed || stopRequested.remove(id) != null) {
            // the job was cancelled before its worker started
            return new Outcome.Stopped();
        }
        Files.createDirectories(dir);
        Process p = new ProcessBuilder(command)
                .redirectError(dir.resolve("worker-" + attempt + ".log").toFile())
                .start();
        running.put(id, p);
        AtomicBoolean timedOut = new AtomicBoolean();
        ScheduledFuture<?> deadline = clock.schedule(
                () -> {
                    timedOut.set(true);
                    LOG.warn("job {} ran past {} s; stopping its worker (pid {})", id, budget.maxSeconds(), p.pid());
                    p.destroyForcibly();
                },
                budget.maxSeconds(),
                TimeUnit.SECONDS);
        try {
            if (closed || stopRequested.containsKey(id)) {
                // close() or stop() ran between the check above and the put: they missed this worker
                p.destroyForcibly();
            }
            ObjectNode job = Bodies.JSON.createObjectNode();
            job.put("job", id);
            job.put("kind", kind);
            job.set("request", request);
            job.put("dir", dir.toAbsolutePath().toString());
            OutputStream in = p.getOutputStream();
            try {
                in.write((job + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
            } catch (IOException e) {
                // the worker died at once; what it said (nothing) and its exit status tell the rest
            }
            // the pipe stays open while the job runs: its end tells the worker that the server is gone
            Outcome outcome = null;
            try (BufferedReader out =
                    new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while (outcome == null && (line = out.readLine()) != null) {
                    outcome = read(id, line, progress);
                }
            } catch (IOException e) {
                LOG.debug("job {}: reading its worker stopped: {}", id, e.toString());
            }
            int exit = waitFor(p);
            if (stopRequested.containsKey(id) || closed) {
                return new Outcome.Stopped();
            }
            if (timedOut.get()) {
                return new Outcome.Failed("the job ran longer than the " + budget.maxSeconds()
                        + " s the server grants a job (twinserve.jobs.max-seconds) and was stopped; run a smaller"
                        + " workload (fewer requests, a shorter duration_s or a smaller sweep), split a sweep into"
                        + " several jobs, or run it with twinserve what-if on a machine of its own");
            }
            if (outcome != null) {
                return outcome;
            }
            LOG.warn("job {}: its worker (pid {}) ended with status {} before it finished", id, p.pid(), exit);
            return new Outcome.Failed("the job's worker process ended before the job finished (exit status " + exit
                    + (exit == 137 ? ", killed" : "") + "), most likely for want of memory: a job may use "
                    + budget.heapText() + " (twinserve.jobs.heap); run a smaller workload (fewer requests, a"
                    + " shorter duration_s or a smaller sweep), or run it with twinserve what-if on a machine of"
                    + " its own");
        } finally {
            deadline.cancel(false);
            running.remove(id);
            stopRequested.remove(id);
            p.destroyForcibly();
        }
    }

    private Outcome read(String id, String line, BiConsumer<Double, String> progress) {
        JsonNode m;
        try {
            m = Bodies.JSON.readTree(line);
        } catch (IOException e) {
            LOG.warn("job {}: its worker wrote a line that is not JSON: {}", id, line);
            return null;
        }
        return switch (m.path("type").asText()) {
            case "progress" -> {
                progress.accept(m.path("progress").asDouble(), m.path("message").asText());
                yield null;
            }
            case "succeeded" -> new Outcome.Succeeded(m.get("result"));
            case "failed" ->
                m.path("out_of_memory").asBoolean(false)
                        ? new Outcome.Failed("the job ran out of memory: its simulation needs more than the "
                                + budget.heapText() + " the server grants a job (twinserve.jobs.heap); run a smaller"
                                + " workload (fewer requests, a shorter duration_s or a smaller sweep), or run it"
                                + " with twinserve what-if on a machine of its own")
                        : new Outcome.Failed(m.path("error").asText());
            default -> null;
        };
    }

    private static int waitFor(Process p) {
        try {
            return p.waitFor();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            return -1;
        }
    }

    /**
     * Stops the worker of job {@code id}, a job that is running or about to: its run ends as {@link
     * Outcome.Stopped}, and one that has not started its worker yet does not start it.
     */
    void stop(String id) {
        stopRequested.put(id, true);
        Process p = running.get(id);
        if (p != null) {
            p.destroyForcibly();
        }
    }

    /** The process id of the worker that runs job {@code id}, while one does. */
    Optional<Long> pid(String id) {
        return Optional.ofNullable(running.get(id)).map(Process::pid);
    }

    /** Stops every worker: their jobs stay running in the database and are run again at the next start. */
    @Override
    public void close() {
        closed = true;
        for (Process p : running.values()) {
            p.destroyForcibly();
        }
        for (Process p : running.values()) {
            try {
                p.waitFor(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        clock.shutdownNow();
    }
}
