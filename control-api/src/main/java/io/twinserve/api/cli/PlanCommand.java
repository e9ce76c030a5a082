package io.twinserve.api.cli;

import io.twinserve.placement.Labels;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.Planner;
import io.twinserve.placement.SweepRow;
import io.twinserve.placement.WorkloadRequests;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.profile.Profiles;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve plan}: the recommended configuration for a workload, from the placement model. */
@Command(
    name = "plan",
    mixinStandardHelpOptions = true,
    description = "Recommend a configuration for a workload spec with the trained placement trees: served "
        + "adapters per GPU (and replicas for all of them), max_adapters, tp, kv_cache_len and pool, "
        + "the throughput to expect, and the tree rules that led there in plain words. --verify runs "
        + "that configuration through the twin and prints predicted against simulated figures. With "
        + "no --workload it plans the built-in what-if workload.",
    footer = {"", "Examples:", "  twinserve plan", "  twinserve plan --workload examples/workloads/adapter-tiers.yaml --verify",
      "  twinserve plan --workload W.yaml --model out/model --base-model qwen2.5-7b --json",
      "  twinserve plan --feature rate_high=0.8 --feature cv=2"})
final class PlanCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--workload", paramLabel = "W", description = "A workload spec (.yaml); default: the built-in what-if workload.")
  Path workload;

  @Option(names = "--model", paramLabel = "MODEL_DIR", description = "A model folder from 'twinserve train'; default: the shipped model.")
  Path modelDir;

  @Option(names = "--base-model", paramLabel = "NAME", defaultValue = "llama-3.1-8b", description = "The LLM the adapters share (default ${DEFAULT-VALUE}).")
  String baseModel;

  @Option(names = "--pools", paramLabel = "P", split = ",", description = "Pools the plan may use (comma-separated; default: any).")
  List<String> pools;

  @Option(names = "--objective", defaultValue = "cost", description = "cost or throughput-per-gpu, for the placement (default ${DEFAULT-VALUE}).")
  String objective;

  @Option(names = "--feature", paramLabel = "NAME=VALUE", description = "Override a workload feature (rate_high, rate_mid, rate_low, prompt_mean, output_mean, cv, adapters).")
  List<String> overrides;

  @Option(names = "--verify", description = "Run the recommended configuration through the twin and compare.")
  boolean verify;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Option(names = "--profiles", paramLabel = "DIR", description = "Extra GPU and model profiles (gpus*.yaml, models*.yaml).")
  Path profilesDir;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PlacementModel model = modelDir == null ? PlacementModel.builtIn() : PlacementModel.load(modelDir);
    WorkloadSpec ws;
    Path base;
    String name;
    if (workload == null) {
      ws = WorkloadSpecs.parse(WhatIfCommand.builtIn("what-if-workload.yaml"), Path.of("<built-in what-if workload>"));
      base = Path.of("").toAbsolutePath();
      name = "<built-in what-if workload>";
    } else {
      if (!Files.isRegularFile(workload)) {
        throw new NoSuchFileException(workload.toString(), null, "no such workload spec");
      }
      ws = WorkloadSpecs.load(workload);
      base = workload.toAbsolutePath().getParent();
      name = workload.toString();
    }
    Planner.Request req = WorkloadRequests.of(ws, base, baseModel, pools, Labels.Objective.parse(objective));
    req = override(req, overrides);
    Planner planner = new Planner(model);
    Planner.Plan plan = planner.plan(req);
    Planner.Verification v = null;
    if (verify) {
      Profiles profiles = WhatIfCommand.profiles(profilesDir);
      v = planner.verify(plan, req, profiles, base);
    }
    if (json) {
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("workload", name);
      doc.put("placement_model", model.source());
      doc.put("request", req);
      doc.put("plan", plan);
      if (v != null) {
        doc.put("verification", v);
      }
      out.println(Json.write(doc));
      return 0;
    }
    out.print(render(name, model, req, plan, v));
    return 0;
  }

  static Planner.Request override(Planner.Request r, List<String> overrides) {
    if (overrides == null) {
      return r;
    }
    double[] rates = r.rates().clone();
    double prompt = r.promptMean();
    double output = r.outputMean();
    double cv = r.cv();
    int adapters = r.adapters();
    for (String o : overrides) {
      int eq = o.indexOf('=');
      if (eq <= 0) {
        throw new IllegalArgumentException("--feature must be NAME=VALUE, got '" + o + "'");
      }
      String k = o.substring(0, eq).trim();
      double value;
      try {
        value = Double.parseDouble(o.substring(eq + 1).trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("--feature " + k + ": '" + o.substring(eq + 1) + "' is not a number");
      }
      switch (k) {
        case "rate_high" -> rates[0] = value;
        case "rate_mid" -> rates[1] = value;
        case "rate_low" -> rates[2] = value;
        case "prompt_mean" -> prompt = value;
        case "output_mean" -> output = value;
        case "cv" -> cv = value;
        case "adapters" -> adapters = (int) value;
        default -> throw new IllegalArgumentException("--feature: unknown feature '" + k + "'; known: rate_high, rate_mid,"
            + " rate_low, prompt_mean, output_mean, cv, adapters");
      }
    }
    return new Planner.Request(r.model(), adapters, rates, r.ranks(), prompt, output, cv, r.pools(), r.objective(),
        r.lengths());
  }

  static String render(String name, PlacementModel model, Planner.Request r, Planner.Plan p, Planner.Verification v) {
    StringBuilder b = new StringBuilder();
    b.append(f("plan for %s: %d adapters, per-adapter rates %s / %s / %s req/s (tiers), ranks %s, prompt %.1f / output"
        + " %.1f tokens, arrival CV %.2f%n", name, r.adapters(), g(r.rates()[0]), g(r.rates()[1]), g(r.rates()[2]),
        Arrays.toString(r.ranks()), r.promptMean(), r.outputMean(), r.cv()));
    b.append(f("placement model: %s (dataset %s)%n%n", model.source(), model.meta().dataset().get("spec_name")));
    b.append(f("recommended configuration for %s%n", p.model()));
    b.append(f("  served adapters per GPU  %d  (optimum for this workload: %d; %d replica%s for %d adapters)%n",
        p.servedPerGpu(), p.predictedServedMax(), p.replicas(), p.replicas() == 1 ? "" : "s", p.adapters()));
    b.append(f("  max_adapters (slots)     %d%n", p.maxAdapters()));
    b.append(f("  tp                       %d%n", p.tp()));
    b.append(f("  kv_cache_len             %s%n", p.kvCacheLen() == 0 ? "from memory (gpu_memory_utilization)" : p.kvCacheLen()));
    b.append(f("  pool                     %s%n", p.pool()));
    b.append(f("  predicted throughput     %,.0f tokens/s per replica (offered %,.0f)%n", p.throughputTps(), p.offeredTps()));
    b.append(f("  starvation               %s%n%n", p.predictedStarving() ? "predicted to starve" : "predicted to keep up"));
    b.append("why (the trees' paths):\n");
    for (Map.Entry<String, List<String>> e : p.rules().entrySet()) {
      b.append("  ").append(e.getKey()).append(":\n");
      for (String line : e.getValue()) {
        b.append("    ").append(line.startsWith("=>") ? "" : "- ").append(line).append('\n');
      }
    }
    if (!p.warnings().isEmpty()) {
      b.append("\nwarnings:\n");
      for (String w : p.warnings()) {
        b.append("  - ").append(w).append('\n');
      }
    }
    if (v != null) {
      SweepRow s = v.simulated();
      b.append(f("%nverification: one replica of the plan in the twin (%d adapters, %d slots, %.0f s window)%n",
          s.served(), s.slots(), s.stoppedAtS() > 0 ? s.stoppedAtS() : 3600.0));
      b.append(f("  %-22s %14s %14s%n", "", "predicted", "simulated"));
      b.append(f("  %-22s %,14.0f %,14.0f  (%+.2f%%)%n", "throughput tokens/s", v.predictedThroughputTps(),
          s.throughputTps(), v.errorPct()));
      b.append(f("  %-22s %14s %14s%n", "starving", v.predictedStarving() ? "yes" : "no", s.starving() ? "yes" : "no"));
      b.append(f("  %-22s %14s %,14.1f%n", "TTFT p90 ms", "-", s.ttftP90Ms()));
      b.append(f("  %-22s %14s %,14.1f%n", "ITL p99 ms", "-", s.itlP99Ms()));
    }
    return b.toString();
  }

  private static String g(double v) {
    return String.format(Locale.ROOT, "%.4g", v);
  }

  private static String f(String fmt, Object... args) {
    return String.format(Locale.ROOT, fmt, args);
  }
}
