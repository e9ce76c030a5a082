package io.twinserve.api.cli;

import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.profile.EngineProfile;
import io.twinserve.engine.profile.EngineProfiler;
import io.twinserve.engine.profile.ProfileFit;
import io.twinserve.engine.profile.ProfileGrid;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve engine profile}: measure a backend's step times and write a profile for the twin. */
@Command(
        name = "profile",
        mixinStandardHelpOptions = true,
        description = {
            "Time the backend's real forward steps over a grid of batch shapes (tokens per step, decode batch",
            "sizes, context lengths, prefill chunks, distinct adapters and ranks; warm-up, then the median of",
            "repetitions) and write a profile the twin's 'profiled' performance model reads: a Vidur-format",
            "mlp.csv, gpus.yaml (this CPU's fitted bandwidth and FLOP/s), models.yaml, calibration.yaml (fitted",
            "attention, LoRA and adapter-load terms, each measurement against the twin's prediction), steps.csv",
            "and deployment.yaml. Format: docs/engine-profile.md."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve engine profile --model /models/llama-1b --backend cpu -o out/cpu-profile",
            "  twinserve engine profile --model DIR --backend cpu -o out/p --quick",
            "  twinserve what-if --profiles out/cpu-profile --deployment out/cpu-profile/deployment.yaml",
            "  twinserve engine validate --model /models/llama-1b --profile out/cpu-profile -o out/twin-vs-live"
        })
final class EngineProfileCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "A Hugging Face model folder.")
    Path model;

    @Option(
            names = "--backend",
            defaultValue = "cpu",
            description = "The backend: " + EngineCommand.BACKENDS + " (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(
            names = {"-o", "--output"},
            required = true,
            paramLabel = "DIR",
            description = "The profile folder to write.")
    Path output;

    @Option(names = "--tp", defaultValue = "1", description = "Tensor-parallel shards (default ${DEFAULT-VALUE}).")
    int tp;

    @Option(names = "--threads", defaultValue = "0", description = "Backend threads (default: all cores).")
    int threads;

    @Option(names = "--quick", description = "A small grid with fewer repetitions: seconds on a tiny model.")
    boolean quick;

    @Option(
            names = "--name",
            paramLabel = "NAME",
            description = "The model profile's name (default: the model folder's name).")
    String name;

    @Option(names = "--json", description = "Print the fitted figures as JSON instead of a table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        EngineBackend.Kind kind = EngineCommand.backend(backend, spec.commandLine());
        if (!Files.isRegularFile(model.resolve("config.json"))) {
            throw new IllegalArgumentException(
                    "--model " + model + ": no config.json there; expected a Hugging Face model folder");
        }
        PrintWriter out = spec.commandLine().getOut();
        // a GPU steps through far larger batches in the time a CPU takes for small ones
        ProfileGrid grid = quick
                ? ProfileGrid.quick()
                : kind == EngineBackend.Kind.CUDA ? ProfileGrid.gpu() : ProfileGrid.standard();
        Progress progress = new Progress(spec.commandLine().getErr(), "shapes of " + EngineProfiler.shapes(grid), true);
        Path scratch = Files.createTempDirectory("twinserve-profile-adapters");
        EngineProfiler.Measurements m;
        try {
            m = EngineProfiler.measure(
                    new EngineProfiler.Options(model, tp, threads, grid, kind),
                    scratch,
                    done -> progress.tick(done, true));
        } finally {
            progress.done();
            deleteTree(scratch);
        }
        String modelName = name != null
                ? name
                : model.toAbsolutePath().normalize().getFileName().toString();
        // version, commit, JVM, OS and time come with EngineProfile's own record
        Map<String, Object> provenance = new LinkedHashMap<>();
        provenance.put("model_dir", model.toAbsolutePath().normalize().toString());
        provenance.put("grid", quick ? "quick" : kind == EngineBackend.Kind.CUDA ? "gpu" : "standard");
        EngineProfile.Result r = EngineProfile.write(m, output, modelName, provenance);
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("profile", output.toString());
            doc.put("hardware", r.fitted().hardware());
            doc.put("model", r.fitted().model());
            doc.put("roofline", r.fitted().params());
            doc.put("rows", r.fitted().rows());
            out.println(Json.write(doc));
            return 0;
        }
        var hw = r.fitted().hardware();
        var p = r.fitted().params();
        out.printf(
                Locale.ROOT,
                "profiled %s on %s (%d threads, tp %d): %d shapes, %d adapter loads%n",
                modelName,
                hw.name(),
                m.threads(),
                m.tensorParallel(),
                m.steps().size(),
                m.adapterLoads().size());
        out.printf(Locale.ROOT, "achieved weight bandwidth   %8.2f GB/s%n", hw.hbmBandwidth() / 1e9);
        out.printf(Locale.ROOT, "achieved FLOP/s             %8.2f GFLOP/s%n", hw.bf16Flops() / 1e9);
        out.printf(
                Locale.ROOT,
                "attention FLOP/s efficiency %8.4f prefill, %.4f decode%n",
                p.attentionFlopsEfficiency(),
                p.decodeAttentionFlopsEfficiency());
        out.printf(
                Locale.ROOT,
                "LoRA fixed / per adapter / per rank / per token and rank  %.1f / %.1f / %.2f / %.3f us%n",
                p.loraFixedNs() / 1e3,
                p.loraPerAdapterNs() / 1e3,
                p.loraPerRankNs() / 1e3,
                p.loraPerTokenRankNs() / 1e3);
        out.printf(
                Locale.ROOT,
                "adapter load fixed / per MB  %.1f us / %.1f us%n",
                p.adapterLoadFixedNs() / 1e3,
                p.adapterLoadNsPerByte() * 1e6 / 1e3);
        out.printf(Locale.ROOT, "%-44s %12s %12s %8s%n", "shape", "measured ms", "twin ms", "error");
        List<ProfileFit.Row> rows = r.fitted().rows();
        for (ProfileFit.Row row : rows) {
            out.printf(
                    Locale.ROOT,
                    "%-44s %12.4f %12.4f %+7.1f%%%n",
                    row.shape(),
                    row.measuredMs(),
                    row.predictedMs(),
                    row.errorPct());
        }
        out.printf(
                Locale.ROOT,
                "wrote %s%nrun: twinserve what-if --profiles %s --deployment %s%n",
                output,
                output,
                r.deployment());
        return 0;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var files = Files.walk(dir)) {
            for (Path f : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(f);
            }
        }
    }
}
