package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.twinserve.api.server.AdminDatabase;
import io.twinserve.api.server.auth.AccessService;
import io.twinserve.api.server.auth.Role;
import java.io.PrintWriter;
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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench faults}: a saturation run with faults injected, counting what was lost. It measures
 * the capacity of a simulated deployment (closed loop), then offers {@code --load} times that capacity as
 * Poisson arrivals for {@code --duration}, kills the embedded Redis and then PostgreSQL with SIGKILL on the
 * way, stops the server cleanly (SIGTERM) with the load still running, starts it again on the same data and
 * counts the interactions and the usage against the requests the clients saw served. The server runs in a JVM
 * of its own ({@link ChildServer}), so the latencies are what a client sees over a socket.
 *
 * <p>Over 400 lines because it is one run told start to end (capacity, loaded run with two faults, clean stop,
 * restart, counts, report) with its own open- and closed-loop client; the client could join {@link HttpLoad}
 * once that learns open-loop arrivals and per-status counts.
 */
@Command(
        name = "faults",
        mixinStandardHelpOptions = true,
        description = {
            "A saturation run with faults, on a server of its own (twinserve serve in a child JVM, embedded PostgreSQL",
            "and Redis in a temporary folder) and a simulated Llama-3.1-8B deployment: capacity measured in a closed",
            "loop, then --load x that capacity as Poisson arrivals for --duration seconds; at 25% of the run Redis is",
            "killed (SIGKILL), at 50% PostgreSQL; at the end the server is stopped with SIGTERM while arrivals go on,",
            "then started again on the same data. Prints the answers by status (and the latency of every kind of",
            "5xx), the time each fault took to recover, and the interactions and usage",
            "counted against the requests served (200 and 408: the requests that reached a replica). Exit code 1 when",
            "a count differs."
        },
        footer = {"", "Examples:", "  ./twinserve bench faults", "  ./twinserve bench faults --duration 60 --load 2"})
final class BenchFaultsCommand implements Callable<Integer> {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String DEPLOYMENT = "faults";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--duration",
            paramLabel = "SECONDS",
            defaultValue = "300",
            description = "Length of the loaded run (default ${DEFAULT-VALUE}).")
    double durationS;

    @Option(
            names = "--load",
            paramLabel = "X",
            defaultValue = "2",
            description = "Offered load as a multiple of the measured capacity (default ${DEFAULT-VALUE}).")
    double load;

    @Option(
            names = "--time-scale",
            paramLabel = "X",
            defaultValue = "1",
            description = "How much faster than real time the simulated GPU runs (default ${DEFAULT-VALUE}).")
    double timeScale;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Option(
            names = "--keep",
            description = "Keep the run's data folder (the server's log is its server.log) and print where it is.")
    boolean keep;

    private final HttpClient http = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    /** Answers by status (-1: no answer, the connection failed). */
    private final Map<Integer, LongAdder> statuses = new ConcurrentHashMap<>();
    /** Answers other than 200 by status and error code. */
    private final Map<String, LongAdder> causes = new ConcurrentHashMap<>();

    @Override
    public Integer call() throws Exception {
        if (durationS < 10 || load <= 0 || timeScale <= 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--duration must be at least 10, --load and --time-scale positive");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path dir = Files.createTempDirectory("twinserve-bench-faults");
        // the server runs in a JVM of its own: a client in the server's JVM measured its own stalls (refusals
        // the server answered in milliseconds came back after a second)
        ChildServer server = ChildServer.start(dir);
        try {
            AccessService.CreatedKey admin;
            AccessService.CreatedKey user;
            try (AdminDatabase db = AdminDatabase.open(dir)) {
                admin = db.access().createKey("faults-admin", Role.ADMIN);
                user = db.access().createKey("faults-user", Role.USER);
            }
            URI uri = server.uri();
            setup(uri, admin.key());
            String body = "{\"model\": \"" + DEPLOYMENT + "\", \"prompt\": \"Tell me about capacity planning.\","
                    + " \"max_tokens\": 32, \"ignore_eos\": true}";

            // capacity: a closed loop with twice the batch's sequences, so the batch stays full
            closedLoop(uri, user.key(), body, 128, 5);
            long before = count(200);
            long t = System.nanoTime();
            closedLoop(uri, user.key(), body, 128, 15);
            double capacity = (count(200) - before) / ((System.nanoTime() - t) / 1e9);
            double rate = load * capacity;
            out.printf(
                    Locale.ROOT, "capacity %.1f requests/s; offering %.1f/s for %.0f s%n", capacity, rate, durationS);
            out.flush();
            long servedBefore = count(200) + count(408);
            Map<Integer, Long> capacityAnswers = new TreeMap<>();
            statuses.forEach((k, v) -> capacityAnswers.put(k, v.sum()));
            statuses.clear();
            causes.clear();

            // the loaded run, with faults
            List<CompletableFuture<Void>> pending = new ArrayList<>();
            SplittableRandom random = new SplittableRandom(7);
            long t0 = System.nanoTime();
            runStartNs = t0;
            refusals.clear();
            long end = t0 + (long) (durationS * 1e9);
            double next = 0;
            Map<String, Double> recovery = new LinkedHashMap<>();
            boolean redisKilled = false;
            boolean pgKilled = false;
            ChildServer running = server;
            List<CompletableFuture<Double>> recoveries = new ArrayList<>();
            while (System.nanoTime() < end) {
                double elapsed = (System.nanoTime() - t0) / 1e9;
                if (!redisKilled && elapsed >= 0.25 * durationS) {
                    redisKilled = true;
                    long pid = running.redisPid();
                    recoveries.add(fault(
                            pid,
                            () -> running.redisPid() != pid && get(uri, admin.key(), "/api/usage?minutes=1") == 200));
                }
                if (!pgKilled && elapsed >= 0.5 * durationS) {
                    pgKilled = true;
                    long pid = running.postgresPid();
                    recoveries.add(fault(
                            pid,
                            () -> running.postgresPid() != pid && get(uri, admin.key(), "/api/deployments") == 200));
                }
                if (elapsed >= next) {
                    pending.add(send(uri, user.key(), body));
                    next += -Math.log(1 - random.nextDouble()) / rate;
                    continue;
                }
                long sleepNs = (long) ((next - elapsed) * 1e9);
                if (sleepNs > 200_000) {
                    TimeUnit.NANOSECONDS.sleep(Math.min(sleepNs, 5_000_000));
                }
            }
            recovery.put("redis_killed", recoveries.get(0).get(120, TimeUnit.SECONDS));
            recovery.put("postgres_killed", recoveries.get(1).get(120, TimeUnit.SECONDS));

            // a clean stop while arrivals go on for two more seconds: in-flight requests finish, new ones get 503
            CompletableFuture<Void> stopping = CompletableFuture.runAsync(
                    () -> {
                        try {
                            running.stop(120);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    },
                    WAITERS);
            long stopEnd = System.nanoTime() + 2_000_000_000L;
            while (System.nanoTime() < stopEnd) {
                pending.add(send(uri, user.key(), body));
                TimeUnit.NANOSECONDS.sleep((long) (1e9 / rate));
            }
            long stopT0 = System.nanoTime();
            stopping.get(120, TimeUnit.SECONDS);
            CompletableFuture.allOf(pending.toArray(CompletableFuture[]::new)).get(300, TimeUnit.SECONDS);
            long restartT0 = System.nanoTime();
            server = ChildServer.start(dir);
            recovery.put("clean_stop_then_start", (System.nanoTime() - restartT0) / 1e9);
            recovery.put("stop_wait_after_arrivals_end", (restartT0 - stopT0) / 1e9);

            long sent = pending.size();
            long served = count(200) + count(408);
            long servedAll = servedBefore + served;
            long interactions = interactions(server);
            long usage = usage(server.uri(), admin.key());
            long fiveXx = 0;
            for (var e : statuses.entrySet()) {
                if (e.getKey() >= 500) {
                    fiveXx += e.getValue().sum();
                }
            }
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("capacity_rps", round(capacity));
            doc.put("offered_rps", round(rate));
            doc.put("duration_s", durationS);
            doc.put("capacity_phase_answers", capacityAnswers);
            doc.put("sent", sent);
            Map<String, Long> byStatus = new TreeMap<>();
            statuses.forEach((k, v) -> byStatus.put(k == -1 ? "no answer" : k.toString(), v.sum()));
            doc.put("answers", byStatus);
            doc.put("5xx", fiveXx);
            Map<String, Long> byCause = new TreeMap<>();
            causes.forEach((k, v) -> byCause.put(k, v.sum()));
            doc.put("refusals_by_code", byCause);
            Map<String, Object> when = new TreeMap<>();
            refusals.forEach((k, v) -> when.put(k, v.summary()));
            doc.put("5xx_timing", when);
            doc.put("recovery_s", recovery);
            doc.put("served_in_run_including_capacity_phase", servedAll);
            doc.put("interactions", interactions);
            doc.put("usage_requests", usage);
            boolean equal = interactions == servedAll && usage == servedAll;
            doc.put("nothing_lost", equal);
            if (json) {
                out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(doc));
            } else {
                out.printf(
                        Locale.ROOT, "sent %,d at %.1f/s (%.1fx the capacity of %.1f/s)%n", sent, rate, load, capacity);
                out.println("capacity phase answers by status: " + capacityAnswers);
                out.println("answers by status: " + byStatus);
                out.println("answers other than 200 by error code: " + byCause);
                when.forEach((k, v) -> out.println("  " + k + ": " + v));
                out.printf(
                        Locale.ROOT,
                        "recovery: Redis %.2f s, PostgreSQL %.2f s (SIGKILL to the first good answer needing it);"
                                + " start after the clean stop %.2f s%n",
                        recovery.get("redis_killed"),
                        recovery.get("postgres_killed"),
                        recovery.get("clean_stop_then_start"));
                out.printf(
                        Locale.ROOT,
                        "served %,d (200 + 408, capacity phase included); interactions %,d; usage %,d -> %s%n",
                        servedAll,
                        interactions,
                        usage,
                        equal ? "nothing lost" : "COUNTS DIFFER");
            }
            out.flush();
            return equal ? 0 : 1;
        } finally {
            server.close();
            if (keep) {
                spec.commandLine().getErr().println("data folder kept: " + dir);
            } else {
                deleteTree(dir);
            }
        }
    }

    private static double round(double v) {
        return Math.round(v * 10) / 10.0;
    }

    private void setup(URI uri, String adminKey) throws Exception {
        post(uri, adminKey, "/api/compute-pools", "{\"name\": \"h100\", \"gpu\": \"h100-sxm-80gb\"}");
        post(uri, adminKey, "/api/models", "{\"name\": \"llama-8b\", \"profile\": \"llama-3.1-8b\"}");
        // a TTFT deadline of 2 s on the wall clock (max_ttft_ms is on the twin's clock)
        post(
                uri,
                adminKey,
                "/api/deployments",
                "{\"name\": \"" + DEPLOYMENT + "\", \"model\": \"llama-8b\", \"mode\": \"simulated\","
                        + " \"compute_config\": {\"max_num_seqs\": 64},"
                        + " \"placement\": {\"compute_pools\": [\"h100\"], \"max_ttft_ms\": "
                        + Math.round(2000 * timeScale) + "}, \"time_scale\": " + timeScale + "}");
        post(uri, adminKey, "/api/permissions", "{\"user\": \"faults-user\", \"deployment\": \"" + DEPLOYMENT + "\"}");
    }

    private void post(URI uri, String key, String path, String body) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(uri.resolve(path))
                        .header("Authorization", "Bearer " + key)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException("POST " + path + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    private int get(URI uri, String key, String path) {
        try {
            return http.send(
                            HttpRequest.newBuilder(uri.resolve(path))
                                    .header("Authorization", "Bearer " + key)
                                    .timeout(Duration.ofSeconds(10))
                                    .build(),
                            HttpResponse.BodyHandlers.discarding())
                    .statusCode();
        } catch (Exception e) {
            return -1;
        }
    }

    private CompletableFuture<Void> send(URI uri, String key, String body) {
        HttpRequest r = HttpRequest.newBuilder(uri.resolve("/v1/completions"))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .timeout(Duration.ofSeconds(120))
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
        long sentNs = System.nanoTime();
        return http.sendAsync(r, HttpResponse.BodyHandlers.ofString()).handle((resp, e) -> {
            long now = System.nanoTime();
            int status = e == null ? resp.statusCode() : -1;
            statuses.computeIfAbsent(status, k -> new LongAdder()).increment();
            if (status != 200) {
                String code = e != null ? rootCause(e).getClass().getSimpleName() : errorCode(resp.body());
                String cause = status + " " + code;
                causes.computeIfAbsent(cause, k -> new LongAdder()).increment();
                if (status >= 500) {
                    // when each kind of refusal came (seconds into the run) and how long it took to come
                    refusals.computeIfAbsent(cause, k -> new Refusals())
                            .add((sentNs - runStartNs) / 1e9, (now - sentNs) / 1e6);
                }
            }
            return null;
        });
    }

    private static Throwable rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t;
    }

    /** The 5xx answers of one kind: when they came and how long each took. */
    private static final class Refusals {
        private double firstS = Double.MAX_VALUE;
        private double lastS;
        private final List<Double> latenciesMs = new ArrayList<>();
        private double slowestAtS;
        private double slowestMs = -1;

        synchronized void add(double atS, double latencyMs) {
            firstS = Math.min(firstS, atS);
            lastS = Math.max(lastS, atS);
            if (latencyMs > slowestMs) {
                slowestMs = latencyMs;
                slowestAtS = atS;
            }
            latenciesMs.add(latencyMs);
        }

        synchronized Map<String, Object> summary() {
            List<Double> sorted = new ArrayList<>(latenciesMs);
            sorted.sort(null);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("count", sorted.size());
            m.put("first_at_s", round(firstS));
            m.put("last_at_s", round(lastS));
            m.put("latency_ms_p50", round(sorted.get(sorted.size() / 2)));
            m.put("latency_ms_p99", round(sorted.get((int) Math.min(sorted.size() - 1, sorted.size() * 0.99))));
            m.put("latency_ms_max", round(sorted.get(sorted.size() - 1)));
            m.put("slowest_sent_at_s", round(slowestAtS));
            m.put("over_500_ms", sorted.stream().filter(l -> l > 500).count());
            return m;
        }
    }

    private final Map<String, Refusals> refusals = new ConcurrentHashMap<>();
    private volatile long runStartNs = System.nanoTime();

    private static final Pattern CODE = Pattern.compile("\"code\"\\s*:\\s*\"([^\"]*)\"");

    private static String errorCode(String body) {
        Matcher m = CODE.matcher(body == null ? "" : body);
        return m.find() ? m.group(1) : "?";
    }

    /** {@code connections} requests in flight at all times for {@code seconds}; answers counted by status. */
    private void closedLoop(URI uri, String key, String body, int connections, double seconds) throws Exception {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        List<CompletableFuture<Void>> loops = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            loops.add(loop(uri, key, body, end));
        }
        CompletableFuture.allOf(loops.toArray(CompletableFuture[]::new)).get((long) seconds + 120, TimeUnit.SECONDS);
    }

    private CompletableFuture<Void> loop(URI uri, String key, String body, long end) {
        if (System.nanoTime() >= end) {
            return CompletableFuture.completedFuture(null);
        }
        return send(uri, key, body).thenCompose(v -> loop(uri, key, body, end));
    }

    private long count(int status) {
        LongAdder a = statuses.get(status);
        return a == null ? 0 : a.sum();
    }

    /** Kills a process and completes with the seconds until {@code recovered} holds. */
    private static CompletableFuture<Double> fault(long pid, BooleanSupplier recovered) {
        long t0 = System.nanoTime();
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
        return CompletableFuture.supplyAsync(
                () -> {
                    while (!recovered.getAsBoolean()) {
                        try {
                            Thread.sleep(20);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                            return Double.NaN;
                        }
                    }
                    return (System.nanoTime() - t0) / 1e9;
                },
                WAITERS);
    }

    /**
     * Threads for the run's own blocking waits (a fault's recovery, the clean stop). Not the common pool: on two
     * cores it has one thread, and a wait parked there delayed the client's answers by up to the wait's length.
     */
    private static final Executor WAITERS = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "bench-faults-wait");
        t.setDaemon(true);
        return t;
    });

    private static long interactions(ChildServer server) throws Exception {
        try (Connection c = DriverManager.getConnection(server.jdbcUrl(), server.user(), server.password());
                PreparedStatement s = c.prepareStatement("select count(*) from interactions where deployment = ?")) {
            s.setString(1, DEPLOYMENT);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private long usage(URI uri, String adminKey) throws Exception {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(uri.resolve("/api/usage?deployment=" + DEPLOYMENT + "&minutes=120"))
                        .header("Authorization", "Bearer " + adminKey)
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        long n = 0;
        for (JsonNode m : JSON.readTree(r.body()).path("minutes")) {
            n += m.path("requests").asLong();
        }
        return n;
    }

    private static void deleteTree(Path dir) {
        BenchApiCommand.deleteTree(dir);
    }
}
