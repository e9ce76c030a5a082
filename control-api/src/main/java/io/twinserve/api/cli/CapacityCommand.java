package io.twinserve.api.cli;

import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.capacity.CapacitySearch;
import io.twinserve.twin.capacity.CapacitySpec;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.router.RouterSpec;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code twinserve capacity}: the cheapest deployments that meet an SLO, and the rate each sustains. */
@Command(
        name = "capacity",
        mixinStandardHelpOptions = true,
        description = {
            "Search deployments (pool and GPU, tp, replicas, max_adapters, kv_cache_len, router) for a workload:",
            "for each, the highest request rate that meets the SLO (binary search over rate scales, each probe a",
            "cluster simulation). Prints the candidates that sustain the target rate cheapest first, then the rest,",
            "and writes a Pareto plot of cost per hour against sustainable rate as PNG.",
            "With no argument it runs the built-in example (docs/capacity-search.md)."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve capacity",
            "  twinserve capacity examples/capacity/chat-h100-a100-l40s.yaml --plot out/pareto.png",
            "  twinserve capacity examples/capacity/chat-h100-a100-l40s.yaml --json > out/capacity.json"
        })
final class CapacityCommand implements Callable<Integer> {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "SPEC", description = "A capacity spec (.yaml).")
    Path file;

    @Option(
            names = "--plot",
            paramLabel = "FILE.png",
            defaultValue = "capacity-pareto.png",
            description = "Where to write the Pareto plot (default ${DEFAULT-VALUE}).")
    Path plot;

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Option(
            names = "--threads",
            paramLabel = "N",
            description = "Candidates evaluated in parallel (default: all cores).")
    Integer threads;

    @Option(
            names = "--top",
            paramLabel = "N",
            defaultValue = "20",
            description = "Rows of the table (default ${DEFAULT-VALUE}; all with --json).")
    int top;

    @Option(
            names = "--profiles",
            paramLabel = "DIR",
            description = "Extra GPU and model profiles (gpus*.yaml, models*.yaml).")
    Path profilesDir;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (threads != null && threads < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be >= 1, got " + threads);
        }
        if (top < 0) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--top must be >= 0, got " + top);
        }
        Charts.checkTarget(plot, "--plot");
        Profiles profiles = WhatIfCommand.profiles(profilesDir);
        String yaml;
        Path name;
        Path base;
        if (file == null) {
            yaml = builtIn();
            name = Path.of("<built-in capacity spec>");
            base = Path.of("").toAbsolutePath();
        } else {
            if (!Files.isRegularFile(file)) {
                throw new NoSuchFileException(file.toString(), null, "no such capacity spec");
            }
            yaml = WorkloadSpecs.readText(file);
            name = file;
            base = file.toAbsolutePath().getParent();
        }
        CapacitySpec cs = WorkloadSpecs.parse(yaml, name, CapacitySpec.class);
        if (file == null) {
            // the built-in spec's workload is a resource: write it where the search can read it
            Path tmp = Files.createTempDirectory("twinserve-capacity");
            Files.writeString(tmp.resolve("workload.yaml"), resource("capacity-workload.yaml"));
            base = tmp;
        }
        CapacitySearch search = new CapacitySearch(cs, base, profiles);
        int n = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
        int total = search.candidates().size();
        Progress progress = new Progress(spec.commandLine().getErr(), "candidates", true);
        long start = System.nanoTime();
        CapacitySearch.Result result = search.run(n, done -> progress.tick(done, true));
        progress.done();
        double seconds = (System.nanoTime() - start) / 1e9;
        writePlot(result, plot);
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("name", result.name());
            doc.put("target_scale", result.targetScale());
            doc.put("candidates", result.candidates());
            doc.put("plot", plot.toString());
            out.println(Json.write(doc));
        } else {
            out.print(render(result, total, seconds, top));
            out.println("wrote " + plot);
        }
        return 0;
    }

    static String render(CapacitySearch.Result r, int total, double seconds, int top) {
        StringBuilder b = new StringBuilder();
        long fitted = r.candidates().stream().filter(c -> c.error() == null).count();
        long meeting = r.candidates().stream()
                .filter(CapacitySearch.CandidateResult::meetsTarget)
                .count();
        long probes = r.candidates().stream().mapToLong(c -> c.probes().size()).sum();
        b.append(f(
                "%s: %d candidates (%d placeable), %,d simulations in %.1f s; %d sustain the target (%.2fx the"
                        + " workload's rate)%n%n",
                r.name(), total, fitted, probes, seconds, meeting, r.targetScale()));
        b.append(f(
                "%4s %-10s %-16s %3s %4s %6s %9s %-16s %9s %10s %9s %9s %7s %s%n",
                "rank",
                "pool",
                "gpu",
                "tp",
                "repl",
                "slots",
                "kv len",
                "router",
                "cost/h",
                "max r/s",
                "TTFT p90",
                "ITL p99",
                "408 %",
                ""));
        int shown = 0;
        for (CapacitySearch.CandidateResult c : r.candidates()) {
            if (shown++ >= top) {
                break;
            }
            CapacitySearch.Candidate k = c.candidate();
            b.append(f(
                    "%4d %-10s %-16s %3d %4d %6s %9s %-16s %9.2f ",
                    shown,
                    k.pool(),
                    k.gpu(),
                    k.tp(),
                    k.replicas(),
                    k.maxAdapters() == null ? "-" : k.maxAdapters().toString(),
                    k.kvCacheLen() == null ? "auto" : k.kvCacheLen().toString(),
                    RouterSpec.typeName(k.router()),
                    k.costPerHour()));
            if (c.error() != null) {
                b.append("does not fit: ").append(c.error()).append('\n');
            } else if (c.sustainableScale() == null) {
                b.append(f(
                        "%10s %9s %9s %7s %s%n",
                        "-",
                        "-",
                        "-",
                        "-",
                        "misses the SLO at the lowest rate: "
                                + String.join("; ", c.probes().get(0).violations())));
            } else {
                var d = c.atSustainable();
                b.append(f(
                        "%10.3f %9.1f %9.1f %6.2f%% %s%n",
                        c.sustainableRequestsPerS(),
                        d.ttft().p90Ms(),
                        d.itl().p99Ms(),
                        100 * d.timedOutFraction(),
                        (c.meetsTarget() ? "meets target" : "below target") + (c.pareto() ? ", pareto" : "")));
            }
        }
        if (r.candidates().size() > top) {
            b.append(f(
                    "... %d more (--top N, or --json for all)%n", r.candidates().size() - top));
        }
        return b.toString();
    }

    private static void writePlot(CapacitySearch.Result r, Path file) throws IOException {
        List<Charts.Point> all = new ArrayList<>();
        List<Charts.Point> frontier = new ArrayList<>();
        for (CapacitySearch.CandidateResult c : r.candidates()) {
            if (c.sustainableRequestsPerS() == null) {
                continue;
            }
            Charts.Point p = new Charts.Point(c.candidate().costPerHour(), c.sustainableRequestsPerS());
            all.add(p);
            if (c.pareto()) {
                frontier.add(p);
            }
        }
        frontier.sort(Comparator.comparingDouble(Charts.Point::x));
        Charts.pareto(
                file,
                r.name() + ": cost against sustainable rate",
                all,
                frontier,
                "cost per hour",
                "sustainable requests per second (SLO met)");
    }

    private static String builtIn() throws IOException {
        return resource("capacity.yaml");
    }

    private static String resource(String n) throws IOException {
        try (InputStream in = CapacityCommand.class.getResourceAsStream("/io/twinserve/api/builtin/" + n)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    private static String f(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }
}
