package io.twinserve.api.cli;

import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.experiments.validate.SyntheticWorkload;
import io.twinserve.experiments.validate.TwinVsLive;
import io.twinserve.experiments.validate.TwinVsLiveReport;
import io.twinserve.traces.Request;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.ClusterTraffic;
import java.io.IOException;
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
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** {@code twinserve engine validate}: the twin's prediction on an engine profile against the live loop. */
@Command(
        name = "validate",
        mixinStandardHelpOptions = true,
        description = {
            "Run one workload through the twin on an engine profile (the prediction) and through the live loop on",
            "the CPU backend of the profiled model (the measurement), with the profile deployment's scheduler",
            "settings, KV cache, adapter slots and the profile's threads on both sides, and compare output",
            "tokens/s, mean and p50 TTFT and mean latency. Writes twin-vs-live.md, twin-vs-live.json and",
            "live-steps.csv (every live step priced by the twin) into the output folder. The workload is a trace or workload spec file, or a small built-in one (Poisson",
            "arrivals, lengths within half their mean either side, adapters drawn uniformly). See",
            "docs/engine-profile.md."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve engine profile --model M --backend cpu -o out/p",
            "  twinserve engine validate --model M --adapter a=out/a --adapter b=out/b --profile out/p -o out/v",
            "  twinserve engine validate --model M --profile out/p --workload trace.csv -o out/v --json"
        })
final class EngineValidateCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "The profiled Hugging Face model folder.")
    Path model;

    @Option(
            names = "--adapter",
            paramLabel = "NAME=DIR",
            description =
                    "A PEFT adapter folder under a name; repeat for more. The workload's adapters are mapped onto them.")
    Map<String, Path> adapters = new LinkedHashMap<>();

    @Option(
            names = "--profile",
            required = true,
            paramLabel = "DIR",
            description = "A folder written by 'twinserve engine profile' for this model.")
    Path profile;

    @Option(
            names = "--deployment",
            paramLabel = "FILE",
            description = "An edited copy of the profile's deployment.yaml (default: the profile's own).")
    Path deployment;

    @Option(
            names = "--backend",
            description = "The live side's backend: " + EngineCommand.BACKENDS
                    + "; it must be the one the profile was measured on (default: that one).")
    String backend;

    @Option(
            names = {"-w", "--workload"},
            paramLabel = "FILE",
            description =
                    "A trace in any supported format, or a workload spec (.yaml) with duration_s (default: built-in).")
    Path workload;

    @Option(names = "--requests", paramLabel = "N", description = "Built-in workload: requests (default 32).")
    Integer requests;

    @Option(
            names = "--rate",
            paramLabel = "PER_S",
            description = "Built-in workload: mean arrivals per second (default 1).")
    Double rate;

    @Option(
            names = "--prompt-tokens",
            paramLabel = "N",
            description = "Built-in workload: mean prompt length (default 64).")
    Integer promptTokens;

    @Option(
            names = "--output-tokens",
            paramLabel = "N",
            description = "Built-in workload: mean output length (default 32).")
    Integer outputTokens;

    @Option(
            names = "--seed",
            defaultValue = "1",
            description = "Seed of the built-in workload and of the live prompts' tokens (default ${DEFAULT-VALUE}).")
    long seed;

    @Option(
            names = "--warmup-requests",
            defaultValue = "16",
            paramLabel = "N",
            description = "Requests run through a throw-away live loop first, so the JIT has compiled the kernels"
                    + " (default ${DEFAULT-VALUE}; 0 for none).")
    int warmupRequests;

    @Option(
            names = "--threads",
            defaultValue = "0",
            paramLabel = "N",
            description = "Backend threads (default: the profile's).")
    int threads;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "DIR",
            description = "The report folder to write.")
    Path output;

    @Option(names = "--json", description = "Print the report as JSON instead of the summary table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        EngineBackend.Kind kind = backend == null ? null : EngineCommand.backend(backend, spec.commandLine());
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException(
                    "--model " + model + ": no config.json there; expected a Hugging Face model folder");
        }
        for (Map.Entry<String, Path> a : adapters.entrySet()) {
            if (!Files.isRegularFile(a.getValue().resolve("adapter_config.json"))) {
                throw new IllegalArgumentException("--adapter " + a.getKey() + "=" + a.getValue()
                        + ": no adapter_config.json there; expected a PEFT adapter folder");
            }
        }
        if (warmupRequests < 0 || threads < 0) {
            throw new ParameterException(spec.commandLine(), "--warmup-requests and --threads must be >= 0");
        }
        String source;
        List<Request> trace;
        if (workload != null) {
            if (requests != null || rate != null || promptTokens != null || outputTokens != null) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--requests, --rate, --prompt-tokens and --output-tokens shape"
                                + " the built-in workload; leave them out with --workload");
            }
            source = workload.toString();
            trace = read(workload);
        } else {
            SyntheticWorkload w = new SyntheticWorkload(
                    requests == null ? 32 : requests,
                    rate == null ? 1.0 : rate,
                    promptTokens == null ? 64 : promptTokens,
                    outputTokens == null ? 32 : outputTokens);
            source = String.format(
                    Locale.ROOT,
                    "built-in: %d requests, Poisson %.3g/s, prompts ~%d, outputs ~%d tokens," + " seed %d",
                    w.requests(),
                    w.ratePerSecond(),
                    w.promptTokens(),
                    w.outputTokens(),
                    seed);
            trace = w.generate(List.copyOf(adapters.keySet()), seed);
        }
        PrintWriter err = spec.commandLine().getErr();
        // the report records its own provenance (version, commit, seed, JVM, OS, time)
        Map<String, Object> provenance = new LinkedHashMap<>();
        TwinVsLiveReport report = TwinVsLive.run(
                new TwinVsLive.Setup(
                        model, adapters, profile, deployment, trace, source, seed, warmupRequests, threads, kind),
                provenance,
                line -> {
                    err.println("engine validate: " + line);
                    err.flush();
                });
        report.write(output);
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            out.println(Json.write(report));
            return 0;
        }
        out.printf(
                Locale.ROOT, "%s on %s: twin (predicted) against live (measured)%n", report.model(), report.hardware());
        report.summaryLines().forEach(out::println);
        out.printf(
                Locale.ROOT,
                "wrote %s, %s and %s%n",
                output.resolve(TwinVsLiveReport.MARKDOWN),
                output.resolve(TwinVsLiveReport.JSON),
                output.resolve(TwinVsLiveReport.STEPS));
        return 0;
    }

    /** Every request of a trace file, or of a workload spec's duration. */
    private static List<Request> read(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(
                    file.toString(), null, "no such workload file (expected a trace or a workload spec)");
        }
        TraceReader reader;
        if (ClusterTraffic.isYaml(file)) {
            WorkloadSpec w = WorkloadSpecs.parse(WorkloadSpecs.readText(file), file, WorkloadSpec.class);
            if (w.durationS() == null) {
                throw new IllegalArgumentException(
                        file + ": duration_s is required here: the live replay needs a finite" + " workload");
            }
            reader = new WorkloadGenerator(w, file.toAbsolutePath().getParent());
        } else {
            reader = TraceReaders.open(file, ReadOptions.defaults());
        }
        List<Request> out = new ArrayList<>();
        try (reader) {
            for (Request r; (r = reader.next()) != null; ) {
                out.add(r);
            }
        }
        return out;
    }
}
