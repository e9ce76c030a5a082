package io.twinserve.api.cli;

import io.twinserve.placement.ClientPlanStudy;
import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.Planner;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve bench clients}: plans of closed-loop and capped-client workloads against the twin's runs. */
@Command(
        name = "clients",
        mixinStandardHelpOptions = true,
        description = {
            "Plan workloads whose client answers to the server (half closed-loop users, half capped Poisson clients,",
            "drawn over users, think times, caps, rates, adapters and lengths) at the rate the client sustains against",
            "the planned replica, and compare each plan's predicted throughput with the twin's run of the workload",
            "itself; the baseline in the same run plans the same workloads at their arrival process's open-loop rate."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve bench clients --workloads 40",
            "  twinserve bench clients --workloads 10 --json"
        })
final class BenchClientsCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--workloads",
            paramLabel = "N",
            defaultValue = "40",
            description = "Workloads (default ${DEFAULT-VALUE}).")
    int workloads;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the draws (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--model",
            paramLabel = "MODEL_DIR",
            description = "A model folder from 'twinserve train'; default: the shipped model.")
    Path modelDir;

    @Option(
            names = "--base-model",
            paramLabel = "NAME",
            defaultValue = "llama-3.1-8b",
            description = "The served model (default ${DEFAULT-VALUE}).")
    String baseModel;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (workloads < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--workloads must be >= 1, got " + workloads);
        }
        PlacementModel model = modelDir == null ? PlacementModel.builtIn() : PlacementModel.load(modelDir);
        ClientPlanStudy.Result r =
                ClientPlanStudy.run(new Planner(model), baseModel, WhatIfCommand.profiles(null), workloads, seed);
        if (json) {
            out.println(Json.write(r));
            return 0;
        }
        out.printf(
                Locale.ROOT,
                "%d workloads (closed-loop users and capped clients) of %s, seed %d; predicted throughput"
                        + " against the twin's run of each workload itself:%n",
                workloads,
                baseModel,
                seed);
        out.printf(
                Locale.ROOT,
                "  %-44s mean %.2f%%, median %.2f%%, p90 %.2f%%, max %.2f%%; within 3%%: %.1f%% of"
                        + " workloads; confirmed by plan --verify's test: %.1f%%%n",
                "planned at the rate the client sustains: |error|",
                r.meanAbsErrorPct(),
                r.medianAbsErrorPct(),
                r.p90AbsErrorPct(),
                r.maxAbsErrorPct(),
                r.withinThreePct(),
                r.confirmedPct());
        out.printf(
                Locale.ROOT,
                "  %-44s mean %.2f%%, median %.2f%% (%.1fx the mean error above)%n",
                "planned at the open-loop rate (baseline): |error|",
                r.openLoopMeanAbsErrorPct(),
                r.openLoopMedianAbsErrorPct(),
                r.openLoopMeanAbsErrorPct() / r.meanAbsErrorPct());
        return 0;
    }
}
