package io.twinserve.api.cli;

import io.twinserve.api.server.AdminDatabase;
import io.twinserve.api.server.TwinserveServer;
import io.twinserve.api.server.auth.AccessService;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.infra.DataServices;
import io.twinserve.api.server.interactions.InteractionWriter;
import java.io.IOException;
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
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code twinserve bench api}: requests/s and latency of the OpenAI endpoint with authentication, the
 * permission check and interaction logging on, against an authenticated no-inference call through the
 * same server and client (the same-run baseline).
 */
@Command(
        name = "api",
        mixinStandardHelpOptions = true,
        description = {
            "Start a server (embedded PostgreSQL and Redis in a temporary folder), a simulated Llama-3.1-8B",
            "deployment on an H100 profile running a million times faster than real time (so the twin is not the",
            "limit), and a user key granted on it. Then drive POST /v1/chat/completions with keep-alive HTTP/1.1",
            "connections in a closed loop: requests/s and p50/p99 latency at --connections, and at one connection.",
            "The baseline is the same client on GET /v1/models with the same key (HTTP, routing, authentication,",
            "a JSON answer); added latency = p50 of inference - p50 of the baseline at one connection, where no",
            "queueing hides the inference path's own cost. Last, after flushing the interaction writer, the rows",
            "in PostgreSQL are counted against the requests served. Exit code 1 on any error or a count mismatch."
        },
        footer = {
            "",
            "Examples:",
            "  ./twinserve bench api",
            "  ./twinserve bench api --duration 20 --connections 64",
            "  ./twinserve bench api --client jdk"
        })
final class BenchApiCommand implements Callable<Integer> {
    private static final String DEPLOYMENT = "bench";

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--duration",
            paramLabel = "SECONDS",
            defaultValue = "5",
            description = "Each measured phase (4 of them) lasts this long (default ${DEFAULT-VALUE}).")
    double durationS;

    @Option(
            names = "--warmup",
            paramLabel = "SECONDS",
            defaultValue = "3",
            description = "Warm-up of each endpoint before measuring, for the JIT (default ${DEFAULT-VALUE}).")
    double warmupS;

    @Option(
            names = "--connections",
            paramLabel = "N",
            defaultValue = "32",
            description = "Concurrent keep-alive connections under load (default ${DEFAULT-VALUE}).")
    int connections;

    @Option(
            names = "--max-tokens",
            paramLabel = "N",
            defaultValue = "2",
            description = "Completion tokens per request (default ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(
            names = "--client",
            paramLabel = "raw|jdk",
            defaultValue = "raw",
            description =
                    "raw: one thread over non-blocking sockets (the least client CPU); jdk: java.net.http.HttpClient,"
                            + " a virtual thread per connection (default ${DEFAULT-VALUE}).")
    String client;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    /** One measured phase. */
    private record Phase(String name, String path, int connections, HttpLoad.Result result) {}

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        HttpLoad.Client kind = switch (client.toLowerCase(Locale.ROOT)) {
            case "raw" -> HttpLoad.Client.RAW;
            case "jdk" -> HttpLoad.Client.JDK;
            default ->
                throw new CommandLine.ParameterException(
                        spec.commandLine(), "--client must be raw or jdk, got '" + client + "'");
        };
        if (connections < 1 || durationS <= 0 || warmupS < 0 || maxTokens < 1) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(),
                    "--connections and --max-tokens must be at least 1, --duration positive and --warmup at least 0");
        }
        Path dir = Files.createTempDirectory("twinserve-bench-api");
        try (TwinserveServer server =
                TwinserveServer.start(new TwinserveServer.Options(dir, null, null, "127.0.0.1", 0, false, Map.of()))) {
            return bench(server, dir, kind, out);
        } finally {
            deleteTree(dir);
        }
    }

    private int bench(TwinserveServer server, Path dir, HttpLoad.Client kind, PrintWriter out) throws Exception {
        URI uri = server.uri();
        AccessService.CreatedKey admin;
        AccessService.CreatedKey user;
        try (AdminDatabase db = AdminDatabase.open(dir)) {
            admin = db.access().createKey("bench-admin", Role.ADMIN);
            user = db.access().createKey("bench-user", Role.USER);
        }
        HttpClient setup = HttpClient.newHttpClient();
        post(setup, uri, admin.key(), "/api/compute-pools", "{\"name\": \"h100\", \"gpu\": \"h100-sxm-80gb\"}");
        post(setup, uri, admin.key(), "/api/models", "{\"name\": \"llama-8b\", \"profile\": \"llama-3.1-8b\"}");
        // max_ttft_ms is on the twin's clock: 2e9 ms at time_scale 1e6 leaves 2 s on the wall clock
        post(
                setup,
                uri,
                admin.key(),
                "/api/deployments",
                "{\"name\": \"" + DEPLOYMENT + "\", \"model\": \"llama-8b\","
                        + " \"mode\": \"simulated\", \"placement\": {\"compute_pools\": [\"h100\"], \"max_ttft_ms\": 2000000000},"
                        + " \"time_scale\": 1000000}");
        post(
                setup,
                uri,
                admin.key(),
                "/api/permissions",
                "{\"user\": \"bench-user\", \"deployment\": \"" + DEPLOYMENT + "\"}");
        String inferencePath = "/v1/chat/completions";
        String body = "{\"model\": \"" + DEPLOYMENT + "\", \"messages\": [{\"role\": \"user\", \"content\": \"Hello,"
                + " how are you?\"}], \"max_tokens\": " + maxTokens + ", \"ignore_eos\": true}";
        String baselinePath = "/v1/models";

        long served = 0;
        // warm-up: the JIT compiles both paths before anything is timed
        if (warmupS > 0) {
            HttpLoad.run(kind, uri, "GET", baselinePath, user.key(), null, connections, warmupS);
            served += HttpLoad.run(kind, uri, "POST", inferencePath, user.key(), body, connections, warmupS)
                    .ok();
        }
        Phase baseLoad = new Phase(
                "baseline GET /v1/models",
                baselinePath,
                connections,
                HttpLoad.run(kind, uri, "GET", baselinePath, user.key(), null, connections, durationS));
        Phase infLoad = new Phase(
                "inference POST " + inferencePath,
                inferencePath,
                connections,
                HttpLoad.run(kind, uri, "POST", inferencePath, user.key(), body, connections, durationS));
        Phase baseOne = new Phase(
                "baseline GET /v1/models",
                baselinePath,
                1,
                HttpLoad.run(kind, uri, "GET", baselinePath, user.key(), null, 1, durationS));
        Phase infOne = new Phase(
                "inference POST " + inferencePath,
                inferencePath,
                1,
                HttpLoad.run(kind, uri, "POST", inferencePath, user.key(), body, 1, durationS));
        served += infLoad.result().ok() + infOne.result().ok();

        server.context().getBean(InteractionWriter.class).flush(60_000);
        long rows = countInteractions(server.services().database(), user.id());
        long errors = 0;
        for (Phase p : new Phase[] {baseLoad, infLoad, baseOne, infOne}) {
            errors += p.result().errors();
        }
        double addedMs = infOne.result().percentileMs(50) - baseOne.result().percentileMs(50);
        double addedMeanMs = infOne.result().meanMs() - baseOne.result().meanMs();

        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("client", kind.name().toLowerCase(Locale.ROOT));
            doc.put("cores", Runtime.getRuntime().availableProcessors());
            doc.put("max_tokens", maxTokens);
            doc.put(
                    "phases",
                    Stream.of(baseLoad, infLoad, baseOne, infOne)
                            .map(BenchApiCommand::phaseJson)
                            .toList());
            doc.put("added_latency_p50_ms", addedMs);
            doc.put("added_latency_mean_ms", addedMeanMs);
            doc.put("errors", errors);
            doc.put("requests_served", served);
            doc.put("interactions_in_postgresql", rows);
            out.println(Json.write(doc));
        } else {
            out.printf(
                    Locale.ROOT,
                    "bench api: JVM %s, max heap %,d MiB, %d cores; server and client in this JVM, embedded"
                            + " PostgreSQL and Redis%n",
                    Runtime.version(),
                    Runtime.getRuntime().maxMemory() >> 20,
                    Runtime.getRuntime().availableProcessors());
            out.printf(
                    Locale.ROOT,
                    "deployment: simulated llama-3.1-8b on h100-sxm-80gb at time_scale 1e6, %d completion"
                            + " tokens per request; user key with a grant; client %s; %.0f s per phase after %.0f s warm-up%n",
                    maxTokens,
                    kind == HttpLoad.Client.RAW ? "raw (1 thread, non-blocking sockets)" : "jdk (HttpClient)",
                    durationS,
                    warmupS);
            out.printf(
                    Locale.ROOT, "%-52s %10s %9s %9s %9s %7s%n", "", "req/s", "mean ms", "p50 ms", "p99 ms", "errors");
            line(out, baseLoad, null);
            line(out, infLoad, baseLoad);
            line(out, baseOne, null);
            line(out, infOne, baseOne);
            out.printf(
                    Locale.ROOT,
                    "added latency p50: %.3f ms, mean: %.3f ms (inference - baseline at 1 connection, where"
                            + " no queueing hides the inference path's own cost)%n",
                    addedMs,
                    addedMeanMs);
            out.printf(Locale.ROOT, "errors: %d%n", errors);
            out.printf(
                    Locale.ROOT,
                    "interactions in PostgreSQL: %,d of %,d requests served (%s)%n",
                    rows,
                    served,
                    rows == served ? "equal" : "MISMATCH");
            String firstError = Stream.of(baseLoad, infLoad, baseOne, infOne)
                    .map(p -> p.result().firstError())
                    .filter(Objects::nonNull)
                    .findFirst()
                    .orElse(null);
            if (firstError != null) {
                out.println("first error: " + firstError);
            }
        }
        return errors == 0 && rows == served ? 0 : 1;
    }

    private static void line(PrintWriter out, Phase p, Phase baseline) {
        HttpLoad.Result r = p.result();
        String ratio = baseline == null
                ? ""
                : String.format(
                        Locale.ROOT,
                        "  (%.2fx baseline req/s)",
                        r.requestsPerSecond() / baseline.result().requestsPerSecond());
        out.printf(
                Locale.ROOT,
                "%-52s %10.0f %9.3f %9.3f %9.3f %7d%s%n",
                String.format(
                        Locale.ROOT, "%s, %d connection%s", p.name(), p.connections(), p.connections() == 1 ? "" : "s"),
                r.requestsPerSecond(),
                r.meanMs(),
                r.percentileMs(50),
                r.percentileMs(99),
                r.errors(),
                ratio);
    }

    private static Map<String, Object> phaseJson(Phase p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", p.name());
        m.put("connections", p.connections());
        m.put("requests_per_second", p.result().requestsPerSecond());
        m.put("mean_ms", p.result().meanMs());
        m.put("p50_ms", p.result().percentileMs(50));
        m.put("p99_ms", p.result().percentileMs(99));
        m.put("ok", p.result().ok());
        m.put("errors", p.result().errors());
        return m;
    }

    private static void post(HttpClient http, URI uri, String key, String path, String body)
            throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(
                HttpRequest.newBuilder(uri.resolve(path))
                        .header("Authorization", "Bearer " + key)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException(
                    "setting up the bench: POST " + path + " answered " + r.statusCode() + ": " + r.body());
        }
    }

    private static long countInteractions(DataServices.Database db, long keyId) throws Exception {
        try (Connection c = DriverManager.getConnection(db.jdbcUrl(), db.user(), db.password());
                PreparedStatement s = c.prepareStatement("select count(*) from interactions where key_id = ?")) {
            s.setLong(1, keyId);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a leftover temporary folder is not worth failing the benchmark over
        }
    }
}
