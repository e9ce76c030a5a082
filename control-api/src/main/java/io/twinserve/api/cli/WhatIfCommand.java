package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.SerializationFeature;
import io.twinserve.experiments.whatif.ClusterOutcome;
import io.twinserve.experiments.whatif.ClusterRun;
import io.twinserve.experiments.whatif.ClusterWhatIf;
import io.twinserve.experiments.whatif.ReplicaOutcome;
import io.twinserve.experiments.whatif.ReplicaRun;
import io.twinserve.experiments.whatif.ReplicaWhatIf;
import io.twinserve.experiments.whatif.SpecSweep;
import io.twinserve.experiments.whatif.SpecText;
import io.twinserve.experiments.whatif.SweepConfigurationException;
import io.twinserve.experiments.whatif.WhatIfNotices;
import io.twinserve.experiments.whatif.WhatIfOptions;
import io.twinserve.experiments.whatif.WhatIfRunner;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.metrics.RequestRecord;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve what-if}: simulate a workload against a deployment, or a sweep of deployments. */
@Command(
        name = "what-if",
        mixinStandardHelpOptions = true,
        description = {
            "Simulate a workload (a spec or a trace file) on a single-replica deployment, or a cluster spec (--cluster:",
            "pools, deployments, routers, autoscaling), and print throughput against offered load, starvation,",
            "latencies, KV and adapter figures and the memory breakdown, after notes on the inputs (lengths the",
            "caps change, prefixes a deployment will not cache, a built-in deployment's rank raised for the workload).",
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
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = {"-w", "--workload"},
            paramLabel = "FILE",
            description =
                    "A workload spec (.yaml) or a trace file in any supported format (default: the built-in example).")
    Path workload;

    @Option(
            names = {"-d", "--deployment"},
            paramLabel = "FILE",
            description = "A deployment spec (.yaml, see docs/deployment-spec.md; default: the built-in example).")
    Path deployment;

    @Option(
            names = "--sweep",
            paramLabel = "KEY=V1,V2,...",
            description = "Vary a setting; repeat for a cartesian product.")
    List<String> sweeps = new ArrayList<>();

    @Option(names = "--json", description = "Print JSON instead of a table.")
    boolean json;

    @Option(
            names = "--requests-out",
            paramLabel = "FILE",
            description = "Write one record per request (CSV, or JSON Lines for .jsonl); single runs only.")
    Path requestsOut;

    @Option(
            names = "--window",
            paramLabel = "SECONDS",
            description = "Measurement window (default: the spec's duration_s, or until every request finishes).")
    Double windowS;

    @Option(names = "--drain", description = "Keep simulating after the window until admitted requests finish.")
    boolean drain;

    @Option(names = "--seed", paramLabel = "N", description = "Override the workload spec's seed.")
    Long seed;

    @Option(
            names = "--adapter-rank",
            paramLabel = "RANK",
            defaultValue = "16",
            description = "Rank of adapters a trace names (traces carry no ranks; default ${DEFAULT-VALUE}).")
    int adapterRank;

    @Option(
            names = "--profiles",
            paramLabel = "DIR",
            description = "Extra GPU and model profiles (gpus*.yaml, models*.yaml).")
    Path profilesDir;

    @Option(names = "--threads", paramLabel = "N", description = "Parallel runs for --sweep (default: all cores).")
    Integer threads;

    @Option(
            names = {"-c", "--cluster"},
            paramLabel = "FILE",
            description =
                    "A cluster spec (.yaml, see docs/cluster-spec.md): pools, deployments with routers, autoscalers"
                            + " and max_ttft_ms, and their traffic. --workload then replaces the traffic of its one deployment.")
    Path cluster;

    @Option(
            names = "--max-outstanding",
            paramLabel = "N",
            description = "At most N requests in flight: the rest wait at the client, in arrival order, until one ends"
                    + " (any workload, traces included; replaces a workload spec's client.max_outstanding; with --cluster,"
                    + " each traffic source's client gets this cap).")
    Integer maxOutstanding;

    @Option(
            names = "--slo",
            paramLabel = "KEY=VALUE[,KEY=VALUE...]",
            description =
                    "Override SLO bounds (repeatable): ttft_p90_ms, ttft_p99_ms, itl_p99_ms, max_timed_out_fraction,"
                            + " min_served_share, no_starvation; 'off' turns a bound off. They override the deployment's and the"
                            + " workload's slo blocks, which override the defaults (TTFT p90 2 s, p99 5 s, ITL p99 200 ms, 1%% 408s,"
                            + " 95%% served, no starved request).")
    List<String> slo = new ArrayList<>();

    @Option(
            names = "--plot",
            paramLabel = "FILE.png",
            description = "With --cluster and --sweep: write TTFT p50/p90 per configuration as a PNG bar chart.")
    Path plot;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        Charts.checkTarget(plot, "--plot");
        Profiles profiles = profiles(profilesDir);
        int n = threads != null ? Math.max(1, threads) : Runtime.getRuntime().availableProcessors();
        SloSpec cliSlo = slo.isEmpty() ? null : SloSpec.parseAssignments(slo);
        if (windowS != null && !(windowS > 0 && windowS < Double.POSITIVE_INFINITY)) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--window must be a finite number of seconds > 0, got " + windowS);
        }
        if (adapterRank < 1) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--adapter-rank must be >= 1, got " + adapterRank);
        }
        if (threads != null && threads < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--threads must be >= 1, got " + threads);
        }
        if (maxOutstanding != null && maxOutstanding < 1) {
            throw new CommandLine.ParameterException(
                    spec.commandLine(), "--max-outstanding must be >= 1, got " + maxOutstanding);
        }
        WhatIfOptions options =
                new WhatIfOptions(seed, windowS, drain, adapterRank, maxOutstanding, cliSlo, n, requestsOut != null);
        WhatIfRunner runner = new WhatIfRunner(profiles);
        if (cluster != null) {
            if (deployment != null) {
                throw new IllegalArgumentException(
                        "--deployment and --cluster exclude each other: a cluster spec names its" + " deployments");
            }
            return cluster(runner, options, out);
        }
        if (plot != null) {
            throw new IllegalArgumentException("--plot draws cluster sweeps; use it with --cluster and --sweep");
        }
        boolean traceWorkload = workload != null && !ClusterTraffic.isYaml(workload);
        SpecText workloadSpec =
                traceWorkload ? null : workload == null ? SpecText.builtInWorkload() : SpecText.read(workload);
        WorkloadSpec parsedWorkload = null;
        try {
            parsedWorkload =
                    workloadSpec == null ? null : WorkloadSpecs.parse(workloadSpec.yaml(), workloadSpec.file());
        } catch (RuntimeException e) {
            // reported by the run, naming its line
        }
        SpecSweep sweep = sweep();
        SpecText deploymentSpec;
        if (deployment == null) {
            // a trace's adapters have --adapter-rank; a workload's, in every variant the sweep makes of it
            SpecText.Defaulted builtIn = traceWorkload
                    ? SpecText.builtInDeploymentFor(adapterRank)
                    : SpecText.builtInDeploymentFor(workloadSpec, sweep);
            deploymentSpec = builtIn.spec();
            if (builtIn.note() != null) {
                spec.commandLine().getErr().println("note: " + builtIn.note());
            }
        } else {
            deploymentSpec = SpecText.read(deployment);
        }
        ReplicaWhatIf q =
                new ReplicaWhatIf(workloadSpec, traceWorkload ? workload : null, deploymentSpec, sweep, options);
        // before the run, what WhatIfNotices finds in the specs as given (each run's document has its own): a spec
        // that cannot be read is reported by the run itself, naming its line
        try {
            WorkloadSpec parsed = parsedWorkload;
            if (parsed != null && seed != null) {
                // the runs draw with --seed, and so does the caps warning's estimate
                parsed = parsed.withSeed(seed);
            }
            for (WhatIfNotices.Notice notice :
                    WhatIfNotices.of(q, parsed, Deployments.parse(deploymentSpec.yaml(), deploymentSpec.file()))) {
                spec.commandLine().getErr().println(notice.line());
            }
        } catch (RuntimeException e) {
            // reported by the run
        }
        ReplicaOutcome outcome = run(sweep, progress -> runner.replica(q, progress));
        if (outcome.single()) {
            ReplicaRun o = outcome.only();
            if (requestsOut != null) {
                writeRequests(o.result().requests(), requestsOut);
            }
            if (json) {
                out.println(Json.write(outcome.document()));
            } else {
                out.print(WhatIfText.render(
                        o.workloadName(), o.replica(), o.result().summary(), o.verdict()));
                if (requestsOut != null) {
                    out.printf(
                            Locale.ROOT,
                            "wrote %,d request records to %s%n",
                            o.result().requests().size(),
                            requestsOut);
                }
            }
            return 0;
        }
        if (json) {
            out.println(Json.write(outcome.document()));
        } else {
            out.print(WhatIfText.renderSweep(
                    outcome.runs().stream()
                            .map(o -> new WhatIfText.SweepRow(
                                    o.settings(),
                                    o.result() == null ? null : o.result().summary(),
                                    o.verdict(),
                                    o.error() == null ? null : o.error().getMessage()))
                            .toList(),
                    outcome.best()));
        }
        return 0;
    }

    /** {@code --cluster}: a cluster run, or a sweep of cluster settings (with {@code --plot}, its TTFT chart). */
    private int cluster(WhatIfRunner runner, WhatIfOptions options, PrintWriter out) throws Exception {
        SpecText clusterSpec = SpecText.read(cluster);
        SpecSweep sweep = sweep();
        ClusterWhatIf q = new ClusterWhatIf(clusterSpec, workload, sweep, options);
        for (WhatIfNotices.Notice notice : WhatIfNotices.of(q)) {
            spec.commandLine().getErr().println(notice.line());
        }
        ClusterOutcome outcome = run(sweep, progress -> runner.cluster(q, progress));
        if (outcome.single()) {
            ClusterRun o = outcome.only();
            if (requestsOut != null) {
                List<RequestRecord> all = new ArrayList<>();
                o.result().requests().values().forEach(all::addAll);
                writeRequests(all, requestsOut);
            }
            if (json) {
                out.println(Json.write(outcome.document()));
            } else {
                out.print(ClusterText.render(o.workloads(), o.result().summary(), o.verdicts()));
            }
            return 0;
        }
        if (json) {
            out.println(Json.write(outcome.document()));
        } else {
            out.print(ClusterText.renderSweep(outcome.runs().stream()
                    .map(o -> new ClusterText.SweepRow(
                            o.settings(),
                            o.result() == null ? null : o.result().summary(),
                            o.verdicts(),
                            o.error() == null ? null : o.error().getMessage()))
                    .toList()));
        }
        if (plot != null) {
            plot(outcome.runs(), plot);
            if (!json) {
                out.println("wrote " + plot);
            }
        }
        return 0;
    }

    /** The sweep of --sweep; --requests-out keeps one run's records, so it refuses a sweep of several. */
    private SpecSweep sweep() {
        SpecSweep sweep = SpecSweep.parse(sweeps);
        if (sweep.configurations().size() > 1 && requestsOut != null) {
            throw new IllegalArgumentException(
                    "--requests-out writes one run's requests; it cannot be combined with --sweep");
        }
        return sweep;
    }

    private interface Runs<T> {
        T run(io.twinserve.experiments.whatif.Progress progress) throws Exception;
    }

    /**
     * Runs the what-if with a progress line for a sweep of several configurations; a configuration that failed
     * for another reason than not fitting ends the command, naming its settings.
     */
    private <T> T run(SpecSweep sweep, Runs<T> runs) throws Exception {
        int total = sweep.configurations().size();
        if (total == 1) {
            return runs.run(io.twinserve.experiments.whatif.Progress.NONE);
        }
        Progress progress = new Progress(spec.commandLine().getErr(), "configurations", true);
        try {
            return runs.run((fraction, stage) -> progress.tick(Math.round(fraction * total), true));
        } catch (SweepConfigurationException e) {
            String cause = TwinserveCommand.describe(e.getCause());
            // an error about a swept key names the setting itself
            throw new IllegalArgumentException(
                    cause.startsWith("--sweep ") ? cause : "configuration " + e.settings() + ": " + cause,
                    e.getCause());
        } finally {
            progress.done();
        }
    }

    /** TTFT p50 and p90 of every configuration (and deployment) of a cluster sweep, as grouped bars. */
    private static void plot(List<ClusterRun> runs, Path file) throws IOException {
        List<String> labels = new ArrayList<>();
        List<Double> p50 = new ArrayList<>();
        List<Double> p90 = new ArrayList<>();
        for (ClusterRun o : runs) {
            if (o.result() == null) {
                continue;
            }
            for (ClusterSummary.DeploymentSummary d : o.result().summary().deployments()) {
                String label = String.join(" ", o.settings().values());
                labels.add(o.result().summary().deployments().size() > 1 ? d.name() + " " + label : label);
                p50.add(d.ttft().p50Ms());
                p90.add(d.ttft().p90Ms());
            }
        }
        Charts.bars(
                file,
                "Time to first token by configuration",
                labels,
                List.of("TTFT p50", "TTFT p90"),
                List.of(p50, p90),
                "milliseconds");
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
                    w.write(Json.MAPPER
                            .writer()
                            .without(SerializationFeature.INDENT_OUTPUT)
                            .writeValueAsString(r));
                    w.write('\n');
                }
                return;
            }
            w.write(
                    "id,adapter,arrival_ns," + (intended ? "intended_ns," : "") + "first_scheduled_ns,first_token_ns,"
                            + "finish_ns,prompt_tokens,output_tokens,generated_tokens,cached_prompt_tokens,preemptions,outcome\n");
            for (RequestRecord r : records) {
                w.write(r.id() + "," + (r.adapter() == null ? "" : r.adapter()) + "," + r.arrivalNs() + ","
                        + (intended ? r.intendedNs() + "," : "") + r.firstScheduledNs() + "," + r.firstTokenNs() + ","
                        + r.finishNs() + "," + r.promptTokens() + ","
                        + r.outputTokens() + "," + r.generatedTokens() + "," + r.cachedPromptTokens() + ","
                        + r.preemptions() + ","
                        + r.outcome().name().toLowerCase(Locale.ROOT) + "\n");
            }
        }
    }
}
