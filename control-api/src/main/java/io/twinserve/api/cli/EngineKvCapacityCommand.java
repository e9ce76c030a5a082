package io.twinserve.api.cli;

import io.twinserve.engine.backend.cuda.CudaMemoryPlan;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.memory.MemoryBreakdown;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.Profiles;
import java.io.PrintWriter;
import java.nio.file.Files;
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

/**
 * {@code twinserve engine kv-capacity}: the CUDA engine's KV cache (its memory plan) against the twin's memory
 * model of the same model on the same GPU, over a grid of adapter slots and slot ranks.
 */
@Command(
        name = "kv-capacity",
        mixinStandardHelpOptions = true,
        description = {
            "Set the CUDA backend's memory plan (weights, adapter slots at max_lora_rank, cuBLAS workspace and",
            "step buffers, then whole KV blocks) beside the twin's memory model (the same deployment resolved",
            "on the GPU profile) for every max_adapters x max_lora_rank of the grid, and print both KV",
            "capacities in tokens, their difference and where the memory went. Only the model's config.json is",
            "read. On a GPU machine, give the device's memory with --device-gib to see what the card holds."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve engine kv-capacity --model /models/llama-3.1-8b --gpu h100-sxm-80gb",
            "  twinserve engine kv-capacity --model DIR --gpu h200 --slots 0,16,64 --ranks 16,64 --json"
        })
final class EngineKvCapacityCommand implements Callable<Integer> {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Option(
            names = "--model",
            required = true,
            paramLabel = "DIR",
            description = "A Hugging Face model folder (its config.json is all that is read).")
    Path model;

    @Option(
            names = "--gpu",
            defaultValue = "h100-sxm-80gb",
            description = "The GPU profile of the twin (default ${DEFAULT-VALUE}); its memory is the device's too.")
    String gpu;

    @Option(
            names = "--device-gib",
            paramLabel = "GIB",
            description = "The device's memory in GiB for the engine's plan (default: the GPU profile's).")
    Double deviceGib;

    @Option(
            names = "--slots",
            split = ",",
            defaultValue = "0,8,16,32,64,128",
            description = "max_adapters values (default ${DEFAULT-VALUE}).")
    List<Integer> slots;

    @Option(
            names = "--ranks",
            split = ",",
            defaultValue = "8,16,32,64",
            description = "max_lora_rank values (default ${DEFAULT-VALUE}).")
    List<Integer> ranks;

    @Option(
            names = "--gpu-memory-utilization",
            defaultValue = "0.9",
            description = "Share of the device either side may use (default ${DEFAULT-VALUE}).")
    double utilization;

    @Option(
            names = "--max-num-batched-tokens",
            defaultValue = "2048",
            description = "The step's token budget (default ${DEFAULT-VALUE}).")
    int maxBatchedTokens;

    @Option(
            names = "--max-num-seqs",
            defaultValue = "256",
            description = "The batch's sequence bound (default ${DEFAULT-VALUE}).")
    int maxNumSeqs;

    @Option(
            names = "--max-model-len",
            defaultValue = "8192",
            description = "The longest sequence either side must hold (default ${DEFAULT-VALUE}).")
    int maxModelLen;

    @Option(names = "--json", description = "Print the rows as JSON.")
    boolean json;

    static final int BLOCK_SIZE = 16;

    /** One grid point: both sides' capacities and breakdowns (null where that side refuses the configuration). */
    record Row(int slots, int rank, Side twin, Side engine) {}

    /** One side's plan in GiB, or why it refused. */
    record Side(
            Long kvTokens, Double weightsGib, Double adaptersGib, Double activationsGib, Double kvGib, String refused) {
        static Side of(MemoryBreakdown m) {
            return new Side(
                    m.kvCacheTokens(),
                    MemoryBreakdown.gib(m.weightBytes()),
                    MemoryBreakdown.gib(m.adapterSlotBytes()),
                    MemoryBreakdown.gib(m.activationBytes()),
                    MemoryBreakdown.gib(m.kvCacheBytes()),
                    null);
        }

        static Side refused(String why) {
            return new Side(null, null, null, null, null, why);
        }
    }

    @Override
    public Integer call() throws Exception {
        Path config = model.resolve("config.json");
        if (!Files.isRegularFile(config)) {
            throw new ParameterException(spec.commandLine(), "--model " + model + ": no config.json there");
        }
        for (int s : slots) {
            if (s < 0) {
                throw new ParameterException(spec.commandLine(), "--slots: every value must be >= 0, got " + s);
            }
        }
        for (int r : ranks) {
            if (r < 1) {
                throw new ParameterException(spec.commandLine(), "--ranks: every value must be >= 1, got " + r);
            }
        }
        Profiles profiles = Profiles.builtIn();
        GpuProfile g;
        try {
            g = profiles.gpu(gpu);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--gpu " + gpu + ": " + e.getMessage());
        }
        long deviceBytes = deviceGib != null ? (long) (deviceGib * (1L << 30)) : g.memoryBytes();
        ModelConfig c = ModelConfig.read(config);
        List<Row> rows = new ArrayList<>();
        for (int s : slots) {
            for (int r : ranks) {
                rows.add(new Row(s, r, twinSide(config, s, r, profiles), engineSide(c, deviceBytes, s, r)));
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        if (json) {
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("model", model.toString());
            doc.put("gpu", gpu);
            doc.put("device_gib", deviceBytes / (double) (1L << 30));
            doc.put("rows", rows);
            out.println(Json.write(doc));
        } else {
            out.printf(
                    Locale.ROOT,
                    "KV capacity of %s on %s (%.1f GiB, utilization %.2f, block %d, max_model_len %d, step %d tokens,"
                            + " %d sequences)%n",
                    model.getFileName(),
                    gpu,
                    deviceBytes / (double) (1L << 30),
                    utilization,
                    BLOCK_SIZE,
                    maxModelLen,
                    maxBatchedTokens,
                    maxNumSeqs);
            out.printf(
                    Locale.ROOT,
                    "%6s %5s %12s %12s %8s   %s%n",
                    "slots",
                    "rank",
                    "twin tokens",
                    "engine tok.",
                    "engine",
                    "GiB twin / engine: adapters, activations");
            for (Row row : rows) {
                out.printf(
                        Locale.ROOT,
                        "%6d %5d %12s %12s %8s   %s%n",
                        row.slots(),
                        row.rank(),
                        tokens(row.twin()),
                        tokens(row.engine()),
                        ratio(row),
                        breakdown(row));
            }
        }
        out.flush();
        return 0;
    }

    private Side twinSide(Path config, int slots, int rank, Profiles profiles) {
        ReplicaSpec r = new ReplicaSpec(
                1,
                null,
                utilization,
                slots,
                Math.max(slots, 1),
                rank,
                maxNumSeqs,
                maxBatchedTokens,
                BLOCK_SIZE,
                true,
                true,
                maxModelLen,
                null);
        try {
            return Side.of(Deployments.resolve(
                            new DeploymentSpec("kv-capacity", config.toString(), gpu, r, null, null), profiles)
                    .memory());
        } catch (InsufficientGpuMemoryException e) {
            return Side.refused(e.getMessage());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private Side engineSide(ModelConfig c, long deviceBytes, int slots, int rank) {
        try {
            return Side.of(CudaMemoryPlan.plan(
                            c,
                            new CudaMemoryPlan.Request(
                                    deviceBytes,
                                    utilization,
                                    slots,
                                    slots == 0 ? 0 : rank,
                                    maxBatchedTokens,
                                    maxNumSeqs,
                                    BLOCK_SIZE,
                                    2,
                                    maxModelLen,
                                    null,
                                    0))
                    .breakdown());
        } catch (InsufficientGpuMemoryException e) {
            return Side.refused(e.getMessage());
        }
    }

    private static String tokens(Side s) {
        return s.kvTokens() == null ? "refused" : String.format(Locale.ROOT, "%,d", s.kvTokens());
    }

    private static String ratio(Row r) {
        if (r.twin().kvTokens() == null
                || r.engine().kvTokens() == null
                || r.twin().kvTokens() == 0) {
            return "-";
        }
        return String.format(
                Locale.ROOT,
                "%+.1f%%",
                100.0 * (r.engine().kvTokens() - r.twin().kvTokens()) / r.twin().kvTokens());
    }

    private static String breakdown(Row r) {
        if (r.twin().kvTokens() == null || r.engine().kvTokens() == null) {
            return r.twin().refused() != null
                    ? "twin: " + r.twin().refused()
                    : "engine: " + r.engine().refused();
        }
        return String.format(
                Locale.ROOT,
                "%.2f / %.2f, %.2f / %.2f",
                r.twin().adaptersGib(),
                r.engine().adaptersGib(),
                r.twin().activationsGib(),
                r.engine().activationsGib());
    }
}
