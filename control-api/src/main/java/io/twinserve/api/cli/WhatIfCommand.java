package io.twinserve.api.cli;

import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.placement.Labels;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.metrics.RunSummary;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import io.twinserve.twin.slo.SloVerdict;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve what-if}: simulate a workload against a deployment, or a sweep of deployments. */
@Command(
    name = "what-if",
    mixinStandardHelpOptions = true,
    description = {
      "Simulate a workload (a spec or a trace file) on a single-replica deployment and print throughput",
      "against offered load, starvation, latencies, KV and adapter figures and the memory breakdown.",
      "With no arguments it runs the built-in example: the adapter-caching study's workload (96 adapters",
      "in three Poisson rate tiers) on Llama-3.1-8B on a 64 GB H100 with the shipped vLLM calibration.",
      "Every run is judged against an SLO (defaults, the workload's and deployment's slo blocks, --slo) and",
      "prints a verdict line. --sweep runs the cartesian product of settings in parallel and marks the best",
      "configuration: the highest throughput among those that meet the SLO (or the closest when none does)."
    },
    footer = {
      "",
      "Examples:",
      "  twinserve what-if",
      "  twinserve what-if --workload examples/workloads/adapter-tiers.yaml --deployment examples/deployments/llama-8b-h100-64gb.yaml",
      "  twinserve what-if --sweep replica.max_adapters=8,16,32,64 --sweep workload.adapters.count=96,192",
      "  twinserve what-if --workload trace.csv --adapter-rank 16 --json --requests-out out/requests.csv",
      "  twinserve what-if --workload examples/workloads/capped-overload.yaml --max-outstanding 64",
      "  twinserve what-if --slo ttft_p90_ms=1000,itl_p99_ms=off --sweep replica.max_adapters=32,64,96",
      "  twinserve what-if --cluster examples/clusters/chat-routers.yaml",
      "  twinserve what-if --cluster examples/clusters/chat-routers.yaml --sweep 'deployments[0].router.type=least_loaded,cache_aware'",
      "",
      "Sweep keys: workload.<key path> edits the workload spec; any other key path edits the deployment",
      "(replica.max_adapters, replica.kv_cache_len, gpu, model, perf_model.calibration, ...). With --cluster,",
      "key paths edit the cluster spec and may index lists: deployments[0].replicas.initial, pools[0].nodes."
    })
final class WhatIfCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = {"-w", "--workload"}, paramLabel = "FILE",
      description = "A workload spec (.yaml) or a trace file in any supported format (default: the built-in example).")
  Path workload;

  @Option(names = {"-d", "--deployment"}, paramLabel = "FILE",
      description = "A deployment spec (.yaml, see docs/deployment-spec.md; default: the built-in example).")
  Path deployment;

  @Option(names = "--sweep", paramLabel = "KEY=V1,V2,...",
      description = "Vary a setting; repeat for a cartesian product.")
  List<String> sweeps = new ArrayList<>();

  @Option(names = "--json", description = "Print JSON instead of a table.")
  boolean json;

  @Option(names = "--requests-out", paramLabel = "FILE",
      description = "Write one record per request (CSV, or JSON Lines for .jsonl); single runs only.")
  Path requestsOut;

  @Option(names = "--window", paramLabel = "SECONDS",
      description = "Measurement window (default: the spec's duration_s, or until every request finishes).")
  Double windowS;

  @Option(names = "--drain", description = "Keep simulating after the window until admitted requests finish.")
  boolean drain;

  @Option(names = "--seed", paramLabel = "N", description = "Override the workload spec's seed.")
  Long seed;

  @Option(names = "--adapter-rank", paramLabel = "RANK", defaultValue = "16",
      description = "Rank of adapters a trace names (traces carry no ranks; default ${DEFAULT-VALUE}).")
  int adapterRank;

  @Option(names = "--profiles", paramLabel = "DIR", description = "Extra GPU and model profiles (gpus*.yaml, models*.yaml).")
  Path profilesDir;

  @Option(names = "--threads", paramLabel = "N", description = "Parallel runs for --sweep (default: all cores).")
  Integer threads;

  @Option(names = {"-c", "--cluster"}, paramLabel = "FILE",
      description = "A cluster spec (.yaml, see docs/cluster-spec.md): pools, deployments with routers, autoscalers"
          + " and max_ttft_ms, and their traffic. --workload then replaces the traffic of its one deployment.")
  Path cluster;

  @Option(names = "--max-outstanding", paramLabel = "N",
      description = "At most N requests in flight: the rest wait at the client, in arrival order, until one ends"
          + " (any workload, traces included; replaces a workload spec's client.max_outstanding; with --cluster,"
          + " each traffic source's client gets this cap).")
  Integer maxOutstanding;

  @Option(names = "--slo", paramLabel = "KEY=VALUE[,KEY=VALUE...]",
      description = "Override SLO bounds (repeatable): ttft_p90_ms, ttft_p99_ms, itl_p99_ms, max_timed_out_fraction,"
          + " min_served_share, no_starvation; 'off' turns a bound off. They override the deployment's and the"
          + " workload's slo blocks, which override the defaults (TTFT p90 2 s, p99 5 s, ITL p99 200 ms, 1%% 408s,"
          + " 95%% served, no starved request).")
  List<String> slo = new ArrayList<>();

  @Option(names = "--plot", paramLabel = "FILE.png",
      description = "With --cluster and --sweep: write TTFT p50/p90 per configuration as a PNG bar chart.")
  Path plot;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    Profiles profiles = profiles(profilesDir);
    int n = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
    SloSpec cliSlo = slo.isEmpty() ? null : SloSpec.parseAssignments(slo);
    if (maxOutstanding != null && maxOutstanding < 1) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "--max-outstanding must be >= 1, got " + maxOutstanding);
    }
    if (cluster != null) {
      if (deployment != null) {
        throw new IllegalArgumentException("--deployment and --cluster exclude each other: a cluster spec names its"
            + " deployments");
      }
      return ClusterWhatIf.run(new ClusterWhatIf.Request(cluster, workload, sweeps, json, requestsOut, windowS, drain,
          seed, adapterRank, n, plot, maxOutstanding, cliSlo), profiles, out, spec.commandLine().getErr());
    }
    if (plot != null) {
      throw new IllegalArgumentException("--plot draws cluster sweeps; use it with --cluster and --sweep");
    }
    boolean traceWorkload = workload != null && !io.twinserve.twin.cluster.ClusterTraffic.isYaml(workload);
    String workloadYaml = traceWorkload ? null : workload == null ? builtIn("what-if-workload.yaml") : Files.readString(workload);
    String deploymentYaml = deployment == null ? builtIn("what-if-deployment.yaml") : Files.readString(deployment);
    Path workloadName = workload == null ? Path.of("<built-in workload>") : workload;
    Path deploymentName = deployment == null ? Path.of("<built-in deployment>") : deployment;
    List<Map<String, String>> configs = SweepSettings.expand(sweeps);
    if (configs.size() > 1 && requestsOut != null) {
      throw new IllegalArgumentException("--requests-out writes one run's requests; it cannot be combined with --sweep");
    }
    if (configs.size() == 1) {
      Map<String, String> only = configs.get(0);
      Run run = new Run(only, SweepSettings.edit(workloadYaml, only, true),
          SweepSettings.edit(deploymentYaml, only, false));
      Outcome o = simulate(run, workloadName, deploymentName, traceWorkload, profiles, requestsOut != null, cliSlo);
      if (o.error != null) {
        throw o.error;
      }
      if (requestsOut != null) {
        writeRequests(o.result.requests(), requestsOut);
      }
      if (json) {
        out.println(Json.write(document(o)));
      } else {
        out.print(WhatIfText.render(o.workloadName, o.replica, o.result.summary(), o.verdict));
        if (requestsOut != null) {
          out.printf(Locale.ROOT, "wrote %,d request records to %s%n", o.result.requests().size(), requestsOut);
        }
      }
      return 0;
    }
    Progress progress = new Progress(spec.commandLine().getErr(), "configurations", true);
    List<Outcome> outcomes = new ArrayList<>();
    try (ExecutorService pool = Executors.newFixedThreadPool(n)) {
      List<Future<Outcome>> futures = new ArrayList<>();
      for (Map<String, String> c : configs) {
        Run run = new Run(c, SweepSettings.edit(workloadYaml, c, true), SweepSettings.edit(deploymentYaml, c, false));
        futures.add(pool.submit(() -> simulate(run, workloadName, deploymentName, traceWorkload, profiles, false,
            cliSlo)));
      }
      for (Future<Outcome> f : futures) {
        outcomes.add(f.get());
        progress.tick(outcomes.size(), true);
      }
    }
    progress.done();
    for (Outcome o : outcomes) {
      if (o.error != null && !(o.error instanceof InsufficientGpuMemoryException)) {
        throw new IllegalArgumentException("configuration " + o.run.settings + ": " + TwinserveCommand.describe(o.error), o.error);
      }
    }
    int best = best(outcomes);
    boolean bestMeets = best >= 0 && outcomes.get(best).verdict.met();
    if (json) {
      List<Object> docs = new ArrayList<>();
      for (int i = 0; i < outcomes.size(); i++) {
        Map<String, Object> d = document(outcomes.get(i));
        d.put("best", i == best && bestMeets);
        d.put("closest", i == best && !bestMeets);
        docs.add(d);
      }
      out.println(Json.write(docs));
    } else {
      out.print(WhatIfText.renderSweep(outcomes.stream().map(o -> new WhatIfText.SweepRow(o.run.settings,
          o.result == null ? null : o.result.summary(), o.verdict, o.error == null ? null : o.error.getMessage()))
          .toList(), best));
    }
    return 0;
  }

  /** One configuration of a sweep: its settings and the edited spec texts. */
  private record Run(Map<String, String> settings, String workloadYaml, String deploymentYaml) {}

  /** A run's result, or the error that stopped it (a configuration that does not fit, say). */
  private record Outcome(Run run, String workloadName, ResolvedReplica replica, RunResult result, SloVerdict verdict,
      Exception error) {}

  private Outcome simulate(Run run, Path workloadFile, Path deploymentFile, boolean trace, Profiles profiles,
      boolean record, SloSpec cliSlo) {
    try {
      DeploymentSpec d = WorkloadSpecs.parse(run.deploymentYaml, deploymentFile, DeploymentSpec.class);
      ResolvedReplica replica = Deployments.resolve(d, profiles);
      Map<String, Integer> ranks = new HashMap<>();
      TraceReader reader;
      String name;
      SloSpec workloadSlo = null;
      Long window = windowS == null ? null : (long) (windowS * 1e9);
      if (trace) {
        reader = TraceReaders.open(workload, ReadOptions.defaults());
        name = workload.getFileName().toString();
      } else {
        WorkloadSpec w = WorkloadSpecs.parse(run.workloadYaml, workloadFile, WorkloadSpec.class);
        if (seed != null) {
          w = w.withSeed(seed);
        }
        Path base = workload == null ? null : workload.toAbsolutePath().getParent();
        WorkloadGenerator gen = new WorkloadGenerator(w, base);
        for (Adapter a : gen.adapters()) {
          ranks.put(a.id(), a.rank());
        }
        reader = gen;
        workloadSlo = w.slo();
        name = w.name() != null ? w.name() : workloadFile.getFileName().toString();
        if (window == null && w.durationS() != null) {
          window = (long) (w.durationS() * 1e9);
        }
      }
      RunOptions options = new RunOptions(window, drain, record, adapterRank, true);
      try (reader) {
        RunResult result = new ReplicaSimulator(replica, ranks).run(ClientGate.forWorkload(reader, maxOutstanding),
            options);
        SloVerdict verdict = SloVerdict.of(SloSpec.resolve(workloadSlo, d.slo(), cliSlo), result.summary());
        return new Outcome(run, name, replica, result, verdict, null);
      }
    } catch (Exception e) {
      return new Outcome(run, null, null, null, null, e);
    }
  }

  /**
   * The best configuration, by the rule of the placement model's labels ({@link Labels#slots}): among those
   * that meet the SLO, the first in sweep order whose throughput is within {@link Labels#TIE} of the
   * highest (so list cheaper settings first: fewer slots win among equals). When none meets the SLO, the
   * closest (the smallest worst miss, {@link SloVerdict#worstSeverity}), which the caller reports as such.
   * -1 when none ran.
   */
  private static int best(List<Outcome> outcomes) {
    double top = -1;
    for (Outcome o : outcomes) {
      if (o.result != null && o.verdict.met()) {
        top = Math.max(top, o.result.summary().achieved().totalTokensPerS());
      }
    }
    int best = -1;
    for (int i = 0; i < outcomes.size() && top >= 0; i++) {
      Outcome o = outcomes.get(i);
      if (o.result != null && o.verdict.met() && o.result.summary().achieved().totalTokensPerS() >= (1 - Labels.TIE) * top) {
        return i;
      }
    }
    for (int i = 0; i < outcomes.size(); i++) {
      Outcome o = outcomes.get(i);
      if (o.result != null && (best < 0 || o.verdict.worstSeverity() < outcomes.get(best).verdict.worstSeverity())) {
        best = i;
      }
    }
    return best;
  }

  private Map<String, Object> document(Outcome o) {
    Map<String, Object> doc = new LinkedHashMap<>();
    doc.put("settings", o.run.settings);
    if (o.error != null) {
      doc.put("error", o.error.getMessage());
      return doc;
    }
    doc.put("workload", o.workloadName);
    doc.put("deployment", o.replica.spec().name());
    doc.put("model", o.replica.model().name());
    doc.put("gpu", o.replica.gpu().name());
    doc.put("calibration", o.replica.calibration() == null ? null : o.replica.calibration().name());
    doc.put("slo", o.verdict);
    doc.put("summary", o.result.summary());
    return doc;
  }


  static String builtIn(String name) throws IOException {
    try (InputStream in = WhatIfCommand.class.getResourceAsStream("/io/twinserve/api/builtin/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  /** The built-in profiles, plus those of {@code dir} when given (--profiles). */
  static Profiles profiles(Path dir) throws IOException {
    Profiles profiles = Profiles.builtIn();
    if (dir != null) {
      profiles.withDirectory(dir);
    }
    return profiles;
  }

  static void writeRequests(List<RequestRecord> records, Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    boolean jsonl = file.getFileName().toString().endsWith(".jsonl");
    // runs behind a client (a client block or --max-outstanding) also say when each request was meant to go
    boolean intended = !records.isEmpty() && records.get(0).intendedNs() != null;
    try (var w = Files.newBufferedWriter(file)) {
      if (jsonl) {
        for (RequestRecord r : records) {
          w.write(Json.MAPPER.writer().without(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT)
              .writeValueAsString(r));
          w.write('\n');
        }
        return;
      }
      w.write("id,adapter,arrival_ns," + (intended ? "intended_ns," : "") + "first_scheduled_ns,first_token_ns,"
          + "finish_ns,prompt_tokens,output_tokens,generated_tokens,cached_prompt_tokens,preemptions,outcome\n");
      for (RequestRecord r : records) {
        w.write(r.id() + "," + (r.adapter() == null ? "" : r.adapter()) + "," + r.arrivalNs() + ","
            + (intended ? r.intendedNs() + "," : "") + r.firstScheduledNs() + "," + r.firstTokenNs() + "," + r.finishNs() + "," + r.promptTokens() + ","
            + r.outputTokens() + "," + r.generatedTokens() + "," + r.cachedPromptTokens() + "," + r.preemptions() + ","
            + r.outcome().name().toLowerCase(Locale.ROOT) + "\n");
      }
    }
  }
}
