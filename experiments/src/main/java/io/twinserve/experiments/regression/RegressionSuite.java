package io.twinserve.experiments.regression;

import com.fasterxml.jackson.databind.JsonNode;
import io.twinserve.experiments.report.ReportJson;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.ClusterSimulator;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.cluster.ResolvedCluster;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Runs every scenario of a suite folder ({@code scenarios/*.yaml}) and compares its summary, as JSON text,
 * with the golden in {@code goldens/<name>.json}. Any difference fails; {@link #update()} rewrites the
 * goldens and reports what changed.
 */
public final class RegressionSuite {
    private final Path dir;
    private final Profiles profiles;

    /** The outcome of one scenario: the golden and actual JSON and the fields that differ. */
    public record Result(String name, String goldenJson, String actualJson, List<String> differences) {
        public boolean passed() {
            return differences.isEmpty();
        }
    }

    public RegressionSuite(Path dir, Profiles profiles) {
        this.dir = dir;
        this.profiles = profiles;
    }

    public List<Path> scenarioFiles() throws IOException {
        Path scenarios = dir.resolve("scenarios");
        if (!Files.isDirectory(scenarios)) {
            throw new NoSuchFileException(scenarios.toString(), null, "no scenarios folder in the regression suite");
        }
        try (Stream<Path> files = Files.list(scenarios)) {
            return files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
    }

    /** Runs every scenario against its golden. */
    public List<Result> check() throws IOException {
        List<Result> out = new ArrayList<>();
        for (Path file : scenarioFiles()) {
            RegressionScenario s = WorkloadSpecs.parse(WorkloadSpecs.readText(file), file, RegressionScenario.class);
            String actual = actualJson(s, file.getParent());
            Path golden = goldenFile(s);
            String expected = Files.isRegularFile(golden) ? Files.readString(golden) : null;
            List<String> diffs = expected == null
                    ? List.of("no golden yet (" + golden + "); run twinserve regress --update")
                    : goldenDifferences(golden, expected, actual);
            out.add(new Result(s.name(), expected, actual, diffs));
        }
        return out;
    }

    /** Rewrites every golden; returns the results as compared with the old goldens. */
    public List<Result> update() throws IOException {
        List<Result> results = check();
        Files.createDirectories(dir.resolve("goldens"));
        for (Result r : results) {
            Files.writeString(dir.resolve("goldens").resolve(r.name() + ".json"), r.actualJson());
        }
        return results;
    }

    private Path goldenFile(RegressionScenario s) {
        return dir.resolve("goldens").resolve(s.name() + ".json");
    }

    /** The scenario's result as golden JSON text. */
    public String actualJson(RegressionScenario s, Path scenarioDir) throws IOException {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("scenario", s.name());
        if (s.cluster() != null) {
            doc.put("cluster", runCluster(s, scenarioDir));
        } else {
            doc.put("summary", run(s, scenarioDir));
        }
        return ReportJson.write(doc) + "\n";
    }

    ClusterSummary runCluster(RegressionScenario s, Path scenarioDir) throws IOException {
        ResolvedCluster cluster = Clusters.resolve(s.cluster(), profiles, scenarioDir);
        try (ClusterTraffic traffic = ClusterTraffic.open(s.cluster(), scenarioDir, 1.0, null)) {
            Long window = s.windowS() != null ? Long.valueOf((long) (s.windowS() * 1e9)) : traffic.windowNs();
            RunOptions options = new RunOptions(window, false, false, s.adapterRank(), s.preloadAdapters());
            return new ClusterSimulator(cluster).run(traffic.sources(), options).summary();
        }
    }

    RunSummary run(RegressionScenario s, Path scenarioDir) throws IOException {
        ResolvedReplica replica = Deployments.resolve(s.deployment(), profiles);
        Map<String, Integer> ranks = new HashMap<>();
        TraceReader reader;
        Long window = s.windowS() == null ? null : (long) (s.windowS() * 1e9);
        if (s.workload() != null) {
            WorkloadGenerator gen = new WorkloadGenerator(s.workload(), scenarioDir);
            for (Adapter a : gen.adapters()) {
                ranks.put(a.id(), a.rank());
            }
            reader = gen;
        } else {
            reader = TraceReaders.open(scenarioDir.resolve(s.workloadTrace()), ReadOptions.defaults());
        }
        try (reader) {
            return new ReplicaSimulator(replica, ranks)
                    .run(reader, new RunOptions(window, false, false, s.adapterRank(), s.preloadAdapters()))
                    .summary();
        }
    }

    /**
     * {@link #differences}, or, when the golden is not JSON (edited by hand, cut short), one difference naming the file,
     * where the JSON breaks and how to rewrite it: the scenario fails and the others still run.
     */
    static List<String> goldenDifferences(Path golden, String expected, String actual) throws IOException {
        try {
            return differences(expected, actual);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            var at = e.getLocation();
            return List.of(golden + (at == null ? "" : ":" + at.getLineNr() + ":" + at.getColumnNr())
                    + ": the golden is not valid JSON ("
                    + e.getOriginalMessage().split("\n")[0]
                    + "); rewrite it with twinserve regress --update");
        }
    }

    /** Field-by-field differences between two JSON documents, as "path: old -> new". */
    static List<String> differences(String expectedJson, String actualJson) throws IOException {
        Map<String, String> a = flatten(ReportJson.MAPPER.readTree(expectedJson));
        Map<String, String> b = flatten(ReportJson.MAPPER.readTree(actualJson));
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> e : a.entrySet()) {
            String now = b.get(e.getKey());
            if (now == null) {
                out.add(e.getKey() + ": " + e.getValue() + " -> (removed)");
            } else if (!now.equals(e.getValue())) {
                out.add(e.getKey() + ": " + e.getValue() + " -> " + now);
            }
        }
        for (Map.Entry<String, String> e : b.entrySet()) {
            if (!a.containsKey(e.getKey())) {
                out.add(e.getKey() + ": (new) -> " + e.getValue());
            }
        }
        if (out.isEmpty() && !expectedJson.equals(actualJson)) {
            out.add("(formatting differs)");
        }
        return out;
    }

    private static Map<String, String> flatten(JsonNode node) {
        Map<String, String> out = new TreeMap<>();
        flatten("", node, out);
        return out;
    }

    private static void flatten(String prefix, JsonNode node, Map<String, String> out) {
        if (node.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                var e = it.next();
                flatten(prefix.isEmpty() ? e.getKey() : prefix + "." + e.getKey(), e.getValue(), out);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                flatten(prefix + "[" + i + "]", node.get(i), out);
            }
        } else {
            out.put(prefix, node.toString());
        }
    }
}
