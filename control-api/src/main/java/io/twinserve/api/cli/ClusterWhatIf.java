package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.cluster.ClusterDeploymentSpec;
import io.twinserve.twin.cluster.ClusterResult;
import io.twinserve.twin.cluster.ClusterSimulator;
import io.twinserve.twin.cluster.ClusterSpec;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.cluster.ResolvedCluster;
import io.twinserve.twin.cluster.TrafficSpec;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.slo.SloVerdict;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** {@code twinserve what-if --cluster}: a cluster run, or a sweep of cluster settings. */
final class ClusterWhatIf {
  private static final ObjectMapper YAML = new YAMLMapper();

  /** What the command line asked for. */
  record Request(Path cluster, Path workload, List<String> sweeps, boolean json, Path requestsOut, Double windowS,
      boolean drain, Long seed, int adapterRank, int threads, Path plot, Integer maxOutstanding, SloSpec slo) {}

  /** A configuration's run: its result and each deployment's SLO verdict (by name), or its error. */
  private record Outcome(Map<String, String> settings, List<String> workloads, ClusterResult result,
      Map<String, SloVerdict> verdicts, Exception error) {}

  private ClusterWhatIf() {}

  static int run(Request q, Profiles profiles, PrintWriter out, PrintWriter err) throws Exception {
    String yaml = Files.readString(q.cluster());
    List<Map<String, String>> configs = SweepSettings.expand(q.sweeps());
    if (configs.size() > 1 && q.requestsOut() != null) {
      throw new IllegalArgumentException("--requests-out writes one run's requests; it cannot be combined with --sweep");
    }
    if (configs.size() == 1) {
      Outcome o = simulate(q, yaml, configs.get(0), profiles, q.requestsOut() != null);
      if (o.error != null) {
        throw o.error;
      }
      if (q.requestsOut() != null) {
        List<RequestRecord> all = new ArrayList<>();
        o.result.requests().values().forEach(all::addAll);
        WhatIfCommand.writeRequests(all, q.requestsOut());
      }
      if (q.json()) {
        out.println(Json.write(document(o)));
      } else {
        out.print(ClusterText.render(o.workloads, o.result.summary(), o.verdicts));
      }
      return 0;
    }
    Progress progress = new Progress(err, "configurations", true);
    List<Outcome> outcomes = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, q.threads()))) {
      List<Future<Outcome>> futures = new ArrayList<>();
      for (Map<String, String> c : configs) {
        futures.add(pool.submit(() -> simulate(q, yaml, c, profiles, false)));
      }
      for (Future<Outcome> f : futures) {
        outcomes.add(f.get());
        progress.tick(outcomes.size(), true);
      }
    }
    progress.done();
    for (Outcome o : outcomes) {
      if (o.error != null && !(o.error instanceof io.twinserve.traces.spec.SpecException)) {
        throw new IllegalArgumentException("configuration " + o.settings + ": " + TwinserveCommand.describe(o.error), o.error);
      }
    }
    if (q.json()) {
      out.println(Json.write(outcomes.stream().map(ClusterWhatIf::document).toList()));
    } else {
      out.print(ClusterText.renderSweep(outcomes.stream().map(o -> new ClusterText.SweepRow(o.settings,
          o.result == null ? null : o.result.summary(), o.verdicts, o.error == null ? null : o.error.getMessage()))
          .toList()));
    }
    if (q.plot() != null) {
      plot(outcomes, q.plot());
      if (!q.json()) {
        out.println("wrote " + q.plot());
      }
    }
    return 0;
  }

  private static Outcome simulate(Request q, String yaml, Map<String, String> settings, Profiles profiles,
      boolean record) {
    try {
      String edited = yaml;
      if (!settings.isEmpty()) {
        JsonNode root = YAML.readTree(yaml);
        for (Map.Entry<String, String> e : settings.entrySet()) {
          YamlPaths.set((ObjectNode) root, e.getKey(), YAML.readTree(e.getValue()), "cluster spec");
        }
        edited = YAML.writeValueAsString(root);
      }
      ClusterSpec spec = Clusters.parse(edited, q.cluster());
      Path base = q.cluster().toAbsolutePath().getParent();
      if (q.workload() != null) {
        if (spec.deployments().size() > 1) {
          throw new IllegalArgumentException("--workload sends all traffic to one deployment, but "
              + q.cluster() + " has " + spec.deployments().size() + "; give each its traffic in the spec");
        }
        spec = new ClusterSpec(spec.name(), spec.pools(), spec.deployments(),
            List.of(new TrafficSpec(null, q.workload().toAbsolutePath().toString(), 1.0, q.adapterRank())));
      }
      if (spec.traffic().isEmpty()) {
        throw new IllegalArgumentException(q.cluster() + " has no traffic section; add one or pass --workload FILE");
      }
      ResolvedCluster cluster = Clusters.resolve(spec, profiles, base);
      try (ClusterTraffic traffic = ClusterTraffic.open(spec, base, 1.0, q.seed())) {
        Long window = q.windowS() != null ? Long.valueOf((long) (q.windowS() * 1e9)) : traffic.windowNs();
        RunOptions options = new RunOptions(window, q.drain(), record, q.adapterRank(), true);
        List<ClusterSimulator.Traffic> sources = new ArrayList<>();
        for (ClusterSimulator.Traffic t : traffic.sources()) {
          sources.add(q.maxOutstanding() == null ? t : t.withMaxOutstanding(q.maxOutstanding()));
        }
        ClusterResult result = new ClusterSimulator(cluster).run(sources, options);
        Map<String, SloVerdict> verdicts = new LinkedHashMap<>();
        for (ClusterSummary.DeploymentSummary d : result.summary().deployments()) {
          ClusterDeploymentSpec ds = spec.deployments().stream().filter(x -> x.name().equals(d.name())).findFirst()
              .orElseThrow();
          verdicts.put(d.name(), SloVerdict.of(SloSpec.resolve(traffic.slo(d.name()), ds.slo(), q.slo()), d));
        }
        return new Outcome(settings, traffic.names(), result, verdicts, null);
      }
    } catch (Exception e) {
      return new Outcome(settings, List.of(), null, null, e);
    }
  }

  private static Map<String, Object> document(Outcome o) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("settings", o.settings);
    if (o.error != null) {
      doc.put("error", o.error.getMessage());
      return doc;
    }
    doc.put("workloads", o.workloads);
    doc.put("slo", o.verdicts);
    doc.put("summary", o.result.summary());
    return doc;
  }

  /** TTFT p50 and p90 of every configuration (and deployment), as grouped bars. */
  private static void plot(List<Outcome> outcomes, Path file) throws java.io.IOException {
    List<String> labels = new ArrayList<>();
    List<Double> p50 = new ArrayList<>();
    List<Double> p90 = new ArrayList<>();
    for (Outcome o : outcomes) {
      if (o.result == null) {
        continue;
      }
      for (ClusterSummary.DeploymentSummary d : o.result.summary().deployments()) {
        String label = String.join(" ", o.settings.values());
        labels.add(o.result.summary().deployments().size() > 1 ? d.name() + " " + label : label);
        p50.add(d.ttft().p50Ms());
        p90.add(d.ttft().p90Ms());
      }
    }
    Charts.bars(file, "Time to first token by configuration", labels, List.of("TTFT p50", "TTFT p90"),
        List.of(p50, p90), "milliseconds");
  }
}
