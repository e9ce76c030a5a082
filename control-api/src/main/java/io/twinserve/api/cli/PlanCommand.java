package io.twinserve.api.cli;

import io.twinserve.placement.ClientLoad;
import io.twinserve.placement.Labels;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.PlanSearch;
import io.twinserve.placement.Planner;
import io.twinserve.placement.SweepRow;
import io.twinserve.placement.WorkloadRequests;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.profile.Profiles;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
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
        + "the throughput to expect, whether it meets the SLO, and the tree rules that led there in plain "
        + "words. --verify runs that configuration through the twin, judges it against the SLO and the "
        + "prediction, and when either fails says so, searches the twin around the plan and prints the "
        + "corrected configuration (--strict: exit 3 then). With no --workload it plans the built-in "
        + "what-if workload.",
    footer = {"", "Examples:", "  twinserve plan", "  twinserve plan --workload examples/workloads/adapter-tiers.yaml --verify",
      "  twinserve plan --workload W.yaml --model out/model --base-model qwen2.5-7b --json",
      "  twinserve plan --feature rate_high=0.8 --feature cv=2",
      "  twinserve plan --verify --strict --slo ttft_p90_ms=1000",
      "  twinserve plan --workload trace.csv --adapter-rank 16 --verify"})
final class PlanCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--workload", paramLabel = "W", description = "A workload spec (.yaml) or a trace file in any supported"
      + " format (its per-adapter rates, lengths and burstiness are measured); default: the built-in what-if workload.")
  Path workload;

  @Option(names = "--adapter-rank", paramLabel = "RANK", defaultValue = "16",
      description = "Rank of the adapters a trace names (traces carry no ranks; default ${DEFAULT-VALUE}).")
  int adapterRank;

  @Option(names = "--model", paramLabel = "MODEL_DIR", description = "A model folder from 'twinserve train'; default: the shipped model.")
  Path modelDir;

  @Option(names = "--base-model", paramLabel = "NAME", defaultValue = "llama-3.1-8b", description = "The LLM the adapters share (default ${DEFAULT-VALUE}).")
  String baseModel;

  @Option(names = "--pools", paramLabel = "P", split = ",", description = "Pools the plan may use (comma-separated; default: any).")
  List<String> pools;

  @Option(names = "--objective", defaultValue = "cost", description = "cost or throughput-per-gpu, for the placement (default ${DEFAULT-VALUE}).")
  String objective;

  @Option(names = "--feature", paramLabel = "NAME=VALUE", description = "Override a workload feature (rate_high, rate_mid, rate_low, prompt_mean, output_mean, cv, adapters,"
      + " tier_skew).")
  List<String> overrides;

  @Option(names = "--verify", description = "Run the recommended configuration through the twin and check it.")
  boolean verify;

  @Option(names = "--strict", description = "With --verify: exit 3 when the twin does not confirm the plan.")
  boolean strict;

  @Option(names = "--slo", paramLabel = "KEY=VALUE[,KEY=VALUE...]",
      description = "SLO bounds --verify judges by, over the workload's slo block and the defaults (repeatable; keys as"
          + " in what-if --slo).")
  List<String> slo = new ArrayList<>();

  @Option(names = "--search-budget", paramLabel = "N", defaultValue = "12",
      description = "Twin runs of the search around a plan --verify does not confirm, or for more adapters per GPU"
          + " after one it confirms (default ${DEFAULT-VALUE}; 0: no search).")
  int searchBudget;

  @Option(names = "--json", description = "Print JSON.")
  boolean json;

  @Option(names = "--profiles", paramLabel = "DIR", description = "Extra GPU and model profiles (gpus*.yaml, models*.yaml).")
  Path profilesDir;

  @Option(names = "--capacity", paramLabel = "SPEC", description = "Answer a capacity spec's question (docs/capacity-search.md)"
      + " with the placement model: per pool, the adapters per GPU and replicas its workload needs at the target rate,"
      + " the cheapest first; with --verify, the twin probes that configuration as capacity search does and walks the"
      + " replica count to the fewest that meet the SLO.")
  Path capacity;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PlacementModel model = modelDir == null ? PlacementModel.builtIn() : PlacementModel.load(modelDir);
    if (capacity != null) {
      if (workload != null || overrides != null) {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
            "--capacity takes its workload from the capacity spec; drop --workload and --feature");
      }
      return PlanCapacity.run(out, capacity, model, WhatIfCommand.profiles(profilesDir), verify, strict,
          searchBudget, json);
    }
    WorkloadSpec ws = null;
    Path base;
    String name;
    List<String> notes = new ArrayList<>();
    Planner.Request req = null;
    if (workload != null && !ClusterTraffic.isYaml(workload)) {
      if (!Files.isRegularFile(workload)) {
        throw new NoSuchFileException(workload.toString(), null, "no such trace file");
      }
      WorkloadRequests.TraceWorkload tw = WorkloadRequests.ofTrace(TraceReaders.open(workload, ReadOptions.defaults()),
          workload, adapterRank, baseModel, pools, Labels.Objective.parse(objective));
      req = tw.request();
      base = workload.toAbsolutePath().getParent();
      name = workload.toString();
      notes.add(f("measured from the trace: %,d requests over %,.1f s, rank %d assumed for its adapters%s", tw.requests(),
          tw.spanS(), adapterRank, tw.baseModelRequests() == 0 ? ""
              : f("; %,d base-model requests left out (the models plan adapter workloads)", tw.baseModelRequests())));
    } else if (workload == null) {
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
    if (ws != null) {
      req = WorkloadRequests.of(ws, base, baseModel, pools, Labels.Objective.parse(objective));
      if (ws.sessions() != null || ws.arrivals() instanceof io.twinserve.traces.spec.ArrivalsSpec.Trace) {
        notes.add((ws.sessions() != null ? "multi-turn sessions" : "replayed arrival times") + " are described by the"
            + " requests they generate (each turn a request whose prompt holds the context it repeats); the trees were"
            + " trained on independent requests, so the prediction is a starting point: "
            + (verify ? "the verification and its search run the workload itself" : "add --verify, which runs the workload itself"));
      }
    }
    if (strict && !verify) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--strict applies to --verify; add --verify");
    }
    if (searchBudget < 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--search-budget must be >= 0, got "
          + searchBudget);
    }
    SloSpec effective = SloSpec.resolve(ws == null ? null : ws.slo(), slo.isEmpty() ? null : SloSpec.parseAssignments(slo));
    req = override(req, overrides);
    Planner planner = new Planner(model);
    Planner.Plan plan = planner.plan(req);
    ClientLoad.Client client = ws == null ? null : ClientLoad.Client.of(ws.client());
    if (client != null && overrides == null) {
      // a client that answers to the server sends what the planned replica lets it: plan at that rate
      ClientLoad.Adjusted a = ClientLoad.plan(planner, req, client, WhatIfCommand.profiles(profilesDir));
      notes.add(f("the client is %s: against the planned replica the twin's step prices give a response time of %.2f s"
          + " (steps of %.1f ms), so it sends %.3g requests/s per replica, %.3g%% of the %s's %.3g; the trees read the"
          + " workload at that rate; %s", client.describe(), a.estimate().responseS(), a.estimate().stepMs(),
          a.estimate().requestRate(), 100 * a.estimate().scale(), client.users() != null ? "arrival process" : "open-loop rate",
          a.estimate().requestRate() / a.estimate().scale(),
          verify ? "the verification runs the client as specified" : "--verify runs the client as specified"));
      plan = a.plan();
      req = a.request();
    } else if (client != null) {
      notes.add("the client " + (client.users() != null ? "is closed-loop (" + client.users() + " users)"
          + "" : "caps outstanding requests at " + client.maxOutstanding()) + ": with --feature the trees read the rates"
          + " given, not what the client would sustain");
    }
    if (planner.trainingSpec() != null) {
      // a plan whose slots the twin's memory check refuses (larger adapters than the trees saw) gets fewer
      plan = planner.fitted(plan, req, WhatIfCommand.profiles(profilesDir));
    }
    if (!model.slo().equals(effective)) {
      notes.add("the model's labels meet " + model.slo().describe() + "; this plan is judged by " + effective.describe()
          + ": the trees' answer is for the former" + (verify ? ", the verification for the latter" : " (add --verify)"));
    }
    Planner.Verification v = null;
    List<PlanSearch.Alternative> search = List.of();
    List<PlanSearch.Alternative> searchUp = List.of();
    if (verify) {
      Profiles profiles = WhatIfCommand.profiles(profilesDir);
      v = planner.verify(plan, req, profiles, base, effective);
      // a plan the twin's run misses is corrected downwards; one it meets (its throughput predicted well or
      // not) stands, and the search looks for more adapters per GPU
      if (!v.verdict().met() && searchBudget > 0) {
        search = planner.search(plan, req, profiles, base, effective, searchBudget);
        PlanSearch.Alternative fixed = PlanSearch.best(search);
        if (fixed != null && fixed.servedPerGpu() == plan.servedPerGpu() && search.size() < searchBudget) {
          // more slots were all the plan lacked: its count stands, and more adapters per GPU may too
          searchUp = planner.searchUp(PlanSearch.withConfiguration(plan, fixed), req, profiles, base, effective,
              searchBudget - search.size());
        }
      } else if (v.verdict().met() && searchBudget > 0) {
        searchUp = planner.searchUp(plan, req, profiles, base, effective, searchBudget);
      }
    }
    PlanSearch.Alternative corrected = search.isEmpty() || !search.getLast().verdict().met() || !search.getLast().simulated().fits()
        ? null : search.getLast();
    PlanSearch.Alternative improved = PlanSearch.best(searchUp);
    if (json) {
      Map<String, Object> doc = new LinkedHashMap<>();
      doc.put("workload", name);
      doc.put("placement_model", model.source());
      doc.put("slo", effective);
      doc.put("model_slo", model.slo());
      doc.put("request", req);
      doc.put("plan", plan);
      doc.put("notes", notes);
      if (v != null) {
        doc.put("verification", v);
        doc.put("confirmed", v.confirmed());
        doc.put("search", search);
        doc.put("corrected", corrected);
        doc.put("search_up", searchUp);
        doc.put("improved", improved);
      }
      out.println(Json.write(doc));
    } else {
      out.print(render(name, model, req, plan, notes, v, search, corrected, searchUp, improved));
    }
    return strict && v != null && !v.confirmed() ? 3 : 0;
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
    double skew = r.skew();
    boolean ratesChanged = false;
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
      if (k.equals("tier_skew")) {
        if (!(value >= 0) || !(value < 1)) {
          throw new IllegalArgumentException("--feature tier_skew: must be an exponent in [0, 1) (0: a tier's adapters"
              + " share its traffic evenly), got " + o.substring(eq + 1).trim());
        }
        skew = value;
        ratesChanged = true;
        continue;
      }
      if (!(value > 0) || !Double.isFinite(value)) {
        throw new IllegalArgumentException("--feature " + k + ": must be a finite number > 0 (a rate, a length, a CV or"
            + " an adapter count), got " + o.substring(eq + 1).trim());
      }
      switch (k) {
        case "rate_high", "rate_mid", "rate_low" -> {
          rates[k.equals("rate_high") ? 0 : k.equals("rate_mid") ? 1 : 2] = value;
          ratesChanged = true;
        }
        case "prompt_mean" -> prompt = value;
        case "output_mean" -> output = value;
        case "cv" -> cv = value;
        case "adapters" -> {
          adapters = (int) value;
          ratesChanged = true;
        }
        default -> throw new IllegalArgumentException("--feature: unknown feature '" + k + "'; known: rate_high, rate_mid,"
            + " rate_low, prompt_mean, output_mean, cv, adapters, tier_skew");
      }
    }
    return r.described(adapters, rates, prompt, output, cv, skew, ratesChanged);
  }

  static String render(String name, PlacementModel model, Planner.Request r, Planner.Plan p, List<String> notes,
      Planner.Verification v, List<PlanSearch.Alternative> search, PlanSearch.Alternative corrected,
      List<PlanSearch.Alternative> searchUp, PlanSearch.Alternative improved) {
    StringBuilder b = new StringBuilder();
    b.append(f("plan for %s: %d adapters, per-adapter rates %s / %s / %s req/s (tiers%s), ranks %s, prompt %.1f /"
        + " output %.1f tokens, arrival CV %.2f%n", name, r.adapters(), g(r.rates()[0]), g(r.rates()[1]),
        g(r.rates()[2]), r.skew() > 0 ? f(", skew %.2f within them", r.skew()) : "", Arrays.toString(r.ranks()),
        r.promptMean(), r.outputMean(), r.cv()));
    b.append(f("placement model: %s (dataset %s)%n%n", model.source(), model.meta().dataset().get("spec_name")));
    b.append(f("recommended configuration for %s%n", p.model()));
    b.append(f("  served adapters per GPU  %d  (optimum for this workload: %d; %d replica%s for %d adapters)%n",
        p.servedPerGpu(), p.predictedServedMax(), p.replicas(), p.replicas() == 1 ? "" : "s", p.adapters()));
    b.append(f("  max_adapters (slots)     %d%n", p.maxAdapters()));
    b.append(f("  tp                       %d%n", p.tp()));
    b.append(f("  kv_cache_len             %s%n", p.kvCacheLen() == 0 ? "from memory (gpu_memory_utilization)" : p.kvCacheLen()));
    b.append(f("  pool                     %s%n", p.pool()));
    b.append(f("  predicted throughput     %,.0f tokens/s per replica (offered %,.0f)%n", p.throughputTps(), p.offeredTps()));
    b.append(f("  SLO                      %s (%s)%n%n", p.predictedMeetsSlo() ? "predicted to meet" : "PREDICTED TO MISS",
        model.slo().describe()));
    b.append("why (the trees' paths):\n");
    for (Map.Entry<String, List<String>> e : p.rules().entrySet()) {
      b.append("  ").append(e.getKey()).append(":\n");
      for (String line : e.getValue()) {
        b.append("    ").append(line.startsWith("=>") ? "" : "- ").append(line).append('\n');
      }
    }
    if (!p.warnings().isEmpty() || !notes.isEmpty()) {
      b.append("\nwarnings:\n");
      for (String w : p.warnings()) {
        b.append("  - ").append(w).append('\n');
      }
      for (String w : notes) {
        b.append("  - ").append(w).append('\n');
      }
    }
    if (v != null) {
      SweepRow s = v.simulated();
      b.append(f("%nverification: one replica of the plan in the twin (%d adapters, %d slots, %.0f s window)%n",
          s.served(), s.slots(), s.stoppedAtS() > 0 ? s.stoppedAtS() : 3600.0));
      if (!s.fits()) {
        b.append(f("  the configuration does not start: %s%n", s.note().replace(';', ',')));
        b.append(f("%n!!! NOT CONFIRMED: the plan's configuration does not start in the twin%n"));
        appendSearch(b, p, search, corrected);
        appendSearchUp(b, p, searchUp, improved);
        return b.toString();
      }
      b.append(f("  %-22s %14s %14s%n", "", "predicted", "simulated"));
      b.append(f("  %-22s %,14.0f %,14.0f  (%+.2f%%)%n", "throughput tokens/s", v.predictedThroughputTps(),
          s.throughputTps(), v.errorPct()));
      b.append(f("  %-22s %14s %14s%n", "SLO", v.predictedMeetsSlo() ? "meets" : "misses",
          v.verdict().met() ? "meets" : "misses"));
      b.append(f("  %-22s %14s %,14.1f%n", "TTFT p90 ms", "-", s.ttftP90Ms()));
      b.append(f("  %-22s %14s %,14.1f%n", "TTFT p99 ms", "-", s.ttftP99Ms()));
      b.append(f("  %-22s %14s %,14.1f%n", "ITL p99 ms", "-", s.itlP99Ms()));
      b.append(f("  SLO: %s%n", v.verdict().line()));
      if (v.confirmed()) {
        b.append(f("%nconfirmed: the twin meets the SLO and agrees with the predicted throughput within %.1f%% (the"
            + " model's held-out error)%n", v.toleratedErrorPct()));
      } else {
        List<String> why = new ArrayList<>();
        if (!v.verdict().met()) {
          why.add("the twin's run misses the SLO");
        }
        if (!(Math.abs(v.errorPct()) <= v.toleratedErrorPct())) {
          why.add(f("the throughput differs from the prediction by %+.2f%%, beyond the model's held-out error of %.1f%%",
              v.errorPct(), v.toleratedErrorPct()));
        }
        b.append(f("%n!!! NOT CONFIRMED: %s%n", String.join("; ", why)));
        appendSearch(b, p, search, corrected);
      }
      appendSearchUp(b, p, searchUp, improved);
    }
    return b.toString();
  }

  private static void appendSearch(StringBuilder b, Planner.Plan p, List<PlanSearch.Alternative> search,
      PlanSearch.Alternative corrected) {
    if (!search.isEmpty()) {
      b.append(f("%ntwin search around the plan (%d run%s):%n", search.size(), search.size() == 1 ? "" : "s"));
      alternatives(b, search);
    }
    if (corrected != null) {
      b.append(f("%ncorrected configuration: %s, meets the SLO%n", configuration(p, corrected)));
    } else if (!search.isEmpty()) {
      b.append(f("%nno configuration of the search meets the SLO within its budget (--search-budget)%n"));
    }
  }

  private static void appendSearchUp(StringBuilder b, Planner.Plan p, List<PlanSearch.Alternative> searchUp,
      PlanSearch.Alternative improved) {
    if (searchUp.isEmpty()) {
      return;
    }
    b.append(f("%ntwin search for more adapters per GPU (%d run%s):%n", searchUp.size(), searchUp.size() == 1 ? "" : "s"));
    alternatives(b, searchUp);
    if (improved != null) {
      int replicas = (p.adapters() + improved.servedPerGpu() - 1) / improved.servedPerGpu();
      b.append(f("%nbetter configuration: %s, meets the SLO with %d more adapter%s per GPU than the plan%s%n",
          configuration(p, improved), improved.servedPerGpu() - p.servedPerGpu(),
          improved.servedPerGpu() - p.servedPerGpu() == 1 ? "" : "s", replicas < p.replicas()
              ? f(" and %d fewer replica%s", p.replicas() - replicas, p.replicas() - replicas == 1 ? "" : "s")
              : f(" (the same %d replica%s for %d adapters: headroom per GPU, not fewer GPUs)", replicas,
                  replicas == 1 ? "" : "s", p.adapters())));
    } else {
      b.append(f("%nno configuration with more adapters per GPU meets the SLO in the search: the plan's count is the"
          + " most the twin confirms%n"));
    }
  }

  private static String g(double v) {
    return String.format(Locale.ROOT, "%.4g", v);
  }

  private static String f(String fmt, Object... args) {
    return String.format(Locale.ROOT, fmt, args);
  }

  private static void alternatives(StringBuilder b, List<PlanSearch.Alternative> tried) {
    b.append(f("  %8s %6s %14s %12s %12s  %s%n", "adapters", "slots", "tokens/s", "TTFT p90 ms", "ITL p99 ms", "SLO"));
    for (PlanSearch.Alternative a : tried) {
      SweepRow x = a.simulated();
      b.append(x.fits() ? f("  %8d %6d %,14.0f %,12.1f %,12.1f  %s%n", a.servedPerGpu(), a.maxAdapters(),
          x.throughputTps(), x.ttftP90Ms(), x.itlP99Ms(), a.verdict().brief())
          : f("  %8d %6d  does not fit: %s%n", a.servedPerGpu(), a.maxAdapters(), x.note()));
    }
  }

  private static String configuration(Planner.Plan p, PlanSearch.Alternative a) {
    int replicas = (p.adapters() + a.servedPerGpu() - 1) / a.servedPerGpu();
    return f("%d adapters per GPU (%d replica%s for %d), max_adapters %d, tp %d, %s, pool %s: %,.0f tokens/s in the twin",
        a.servedPerGpu(), replicas, replicas == 1 ? "" : "s", p.adapters(), a.maxAdapters(), p.tp(),
        p.kvCacheLen() == 0 ? "KV from memory" : "kv_cache_len " + p.kvCacheLen(), p.pool(), a.simulated().throughputTps());
  }
}
