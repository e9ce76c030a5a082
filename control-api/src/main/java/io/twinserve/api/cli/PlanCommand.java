package io.twinserve.api.cli;

import io.twinserve.placement.ClientLoad;
import io.twinserve.placement.Labels;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.PlanSearch;
import io.twinserve.placement.Planner;
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
    ClientLoad.Client client = ws == null ? null : ClientLoad.Client.of(ws.client(), base);
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
      out.print(PlanText.render(name, model, req, plan, notes, v, search, corrected, searchUp, improved));
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

  private static String f(String fmt, Object... args) {
    return String.format(Locale.ROOT, fmt, args);
  }
}
