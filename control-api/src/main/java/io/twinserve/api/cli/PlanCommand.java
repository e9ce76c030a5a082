package io.twinserve.api.cli;

import io.twinserve.experiments.whatif.FeatureOverride;
import io.twinserve.experiments.whatif.PlanOutcome;
import io.twinserve.experiments.whatif.PlanRequest;
import io.twinserve.experiments.whatif.PlanWorkload;
import io.twinserve.experiments.whatif.Progress;
import io.twinserve.experiments.whatif.SpecText;
import io.twinserve.experiments.whatif.WhatIfRunner;
import io.twinserve.placement.PlacementModel;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.cluster.ClusterTraffic;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
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
        footer = {
            "",
            "Examples:",
            "  twinserve plan",
            "  twinserve plan --workload examples/workloads/adapter-tiers.yaml --verify",
            "  twinserve plan --workload examples/workloads/chat-sessions.yaml --deployment D.yaml --verify",
            "  twinserve plan --workload W.yaml --model out/model --base-model qwen2.5-7b --json",
            "  twinserve plan --feature rate_high=0.8 --feature cv=2",
            "  twinserve plan --verify --strict --slo ttft_p90_ms=1000",
            "  twinserve plan --workload trace.csv --adapter-rank 16 --verify"
        })
final class PlanCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--workload",
            paramLabel = "W",
            description =
                    "A workload spec (.yaml) or a trace file in any supported"
                            + " format (its per-adapter rates, lengths and burstiness are measured); default: the built-in what-if workload.")
    Path workload;

    @Option(
            names = "--adapter-rank",
            paramLabel = "RANK",
            defaultValue = "16",
            description = "Rank of the adapters a trace names (traces carry no ranks; default ${DEFAULT-VALUE}).")
    int adapterRank;

    @Option(
            names = "--model",
            paramLabel = "MODEL_DIR",
            description = "A model folder from 'twinserve train'; default: the shipped model.")
    Path modelDir;

    @Option(
            names = "--base-model",
            paramLabel = "NAME",
            description = "The LLM the adapters share (default: the --deployment's model, else llama-3.1-8b).")
    String baseModel;

    @Option(
            names = "--deployment",
            paramLabel = "D",
            description =
                    "A deployment spec (docs/deployment-spec.md) the plan is for: its model and GPU choose the base model"
                            + " and pool, and --verify and its search run the twin with its replica settings (prefix caching,"
                            + " batch limits, memory share, dtypes) and performance model, the plan setting the slots, rank, tp and"
                            + " KV; without it, the training grid's.")
    Path deployment;

    @Option(
            names = "--pools",
            paramLabel = "P",
            split = ",",
            description = "Pools the plan may use (comma-separated; default: any).")
    List<String> pools;

    @Option(
            names = "--objective",
            defaultValue = "cost",
            description = "cost or throughput-per-gpu, for the placement (default ${DEFAULT-VALUE}).")
    String objective;

    @Option(
            names = "--feature",
            paramLabel = "NAME=VALUE",
            converter = FeatureAssignment.class,
            description =
                    "Override a workload feature (rate_high, rate_mid, rate_low, prompt_mean, output_mean, cv, adapters,"
                            + " tier_skew).")
    List<String> overrides;

    @Option(names = "--verify", description = "Run the recommended configuration through the twin and check it.")
    boolean verify;

    @Option(names = "--strict", description = "With --verify: exit 3 when the twin does not confirm the plan.")
    boolean strict;

    @Option(
            names = "--slo",
            paramLabel = "KEY=VALUE[,KEY=VALUE...]",
            description =
                    "SLO bounds --verify judges by, over the workload's slo block, the --deployment's and the defaults (repeatable; keys as"
                            + " in what-if --slo).")
    List<String> slo = new ArrayList<>();

    @Option(
            names = "--search-budget",
            paramLabel = "N",
            defaultValue = "12",
            description =
                    "Twin runs of the search around a plan --verify does not confirm, or for more adapters per GPU"
                            + " after one it confirms, then, with what is left, at the pool's other trained tp"
                            + " (default ${DEFAULT-VALUE}; 0: no search).")
    int searchBudget;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Option(
            names = "--profiles",
            paramLabel = "DIR",
            description = "Extra GPU and model profiles (gpus*.yaml, models*.yaml).")
    Path profilesDir;

    @Option(
            names = "--capacity",
            paramLabel = "SPEC",
            description = "Answer a capacity spec's question (docs/capacity-search.md)"
                    + " with the placement model: per pool, the adapters per GPU and replicas its workload needs at the target rate,"
                    + " the cheapest first; with --verify, the twin probes that configuration as capacity search does and walks the"
                    + " replica count to the fewest that meet the SLO.")
    Path capacity;

    /**
     * Checks a {@code --feature} as picocli reads it, so an impossible value is a usage error (exit 2) naming
     * the feature, like any other bad option value; the planner applies it later.
     */
    static final class FeatureAssignment implements CommandLine.ITypeConverter<String> {
        @Override
        public String convert(String value) {
            try {
                FeatureOverride.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
            return value;
        }
    }

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PlacementModel model = modelDir == null ? PlacementModel.builtIn() : PlacementModel.load(modelDir);
        if (capacity != null) {
            if (workload != null || overrides != null) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "--capacity takes its workload from the capacity spec; drop --workload and --feature");
            }
            if (deployment != null) {
                throw new CommandLine.ParameterException(
                        spec.commandLine(),
                        "--capacity takes its deployments from the capacity spec's pools and replica block; drop"
                                + " --deployment");
            }
            return PlanCapacity.run(
                    out, capacity, model, WhatIfCommand.profiles(profilesDir), verify, strict, searchBudget, json);
        }
        SpecText workloadSpec = null;
        Path trace = null;
        if (workload != null && !ClusterTraffic.isYaml(workload)) {
            if (!Files.isRegularFile(workload)) {
                throw new NoSuchFileException(workload.toString(), null, "no such trace file");
            }
            trace = workload;
        } else if (workload == null) {
            workloadSpec = PlanRequest.builtInWorkload(Path.of("").toAbsolutePath());
        } else {
            if (!Files.isRegularFile(workload)) {
                throw new NoSuchFileException(workload.toString(), null, "no such workload spec");
            }
            workloadSpec = SpecText.read(workload);
        }
        SpecText deploymentSpec = null;
        if (deployment != null) {
            if (!Files.isRegularFile(deployment)) {
                throw new NoSuchFileException(deployment.toString(), null, "no such deployment spec");
            }
            deploymentSpec = SpecText.read(deployment);
        }
        WhatIfRunner runner = new WhatIfRunner(WhatIfCommand.profiles(profilesDir));
        PlanRequest request = new PlanRequest(
                workloadSpec,
                trace,
                adapterRank,
                baseModel,
                pools,
                objective,
                model,
                overrides,
                verify,
                null,
                searchBudget,
                deploymentSpec);
        PlanWorkload planned = runner.planWorkload(request);
        if (strict && !verify) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--strict applies to --verify; add --verify");
        }
        if (searchBudget < 0) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--search-budget must be >= 0, got " + searchBudget);
        }
        PlanOutcome o = runner.plan(
                request.withSlo(slo.isEmpty() ? null : SloSpec.parseAssignments(slo)), planned, Progress.NONE);
        if (json) {
            out.println(Json.write(o.document()));
        } else {
            out.print(PlanText.render(o));
        }
        return strict && o.verification() != null && !o.confirmed() ? 3 : 0;
    }
}
