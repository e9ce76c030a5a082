package io.twinserve.engine.backend.cuda;

import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.Projection;
import io.twinserve.engine.model.write.RandomModel;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

/**
 * The CUDA backend against the CPU backend on the same random models (written here by {@link RandomModel}): each
 * architecture with two adapters of ranks 8 and 16, a mixed step of a 7-token prefill with an adapter and a
 * 5-token prefill without (logits for every token), then two decode steps over the paged cache, the second
 * switching the base-model sequence to the other adapter. The same cases run in the unit tests on an emulated
 * device and in the GPU check ({@link CudaKernelCheck}) on a real one.
 */
public final class CudaModelCheck {
    /** One compared step: max |cuda - cpu| / max |cpu| over its logits, and whether any was NaN. */
    public record Result(String model, String step, double relativeError, boolean nan) {}

    private CudaModelCheck() {}

    /** Runs every case, the CUDA backend on a fresh device from {@code gpus} per model; files go under {@code dir}. */
    public static List<Result> run(Path dir, Supplier<Gpu> gpus) throws IOException {
        return run(dir, gpus, 0);
    }

    /**
     * As {@link #run(Path, Supplier)}, the CUDA backend replaying decode graphs for steps of up to {@code
     * graphBatch} sequences (0: none), so that the decode steps run as graphs and the step names say so.
     */
    public static List<Result> run(Path dir, Supplier<Gpu> gpus, int graphBatch) throws IOException {
        return run(dir, gpus, graphBatch, CudaBackend.bf16LogitsFor(System.getenv(CudaBackend.LOGITS_ENV)));
    }

    /**
     * As {@link #run(Path, Supplier, int)}, the logits brought back as bf16 or fp32 as {@code bf16Logits} says
     * (there: as {@link CudaBackend#LOGITS_ENV} says).
     */
    static List<Result> run(Path dir, Supplier<Gpu> gpus, int graphBatch, boolean bf16Logits) throws IOException {
        return run(dir, gpus, graphBatch, bf16Logits, 0);
    }

    /**
     * As {@link #run(Path, Supplier, int, boolean)}, attention splitting each row's positions into runs of at least
     * {@code minSplitPositions} where {@link CudaKernels#attentionSplits} finds room (0: the backend's own minimum),
     * so that the tiny models' short contexts split too.
     */
    static List<Result> run(Path dir, Supplier<Gpu> gpus, int graphBatch, boolean bf16Logits, int minSplitPositions)
            throws IOException {
        List<Result> results = new ArrayList<>();
        List<Architecture> archs = new ArrayList<>(List.of(Architecture.values()));
        // and Llama once more with heads of 128, the size ts_prefill_attention's tensor-core tiles serve (its
        // prefill steps go through them with a bf16 cache)
        archs.add(Architecture.LLAMA);
        for (int i = 0; i < archs.size(); i++) {
            Architecture arch = archs.get(i);
            boolean wide = i == archs.size() - 1;
            Path base = dir.resolve(arch.name().toLowerCase(java.util.Locale.ROOT) + (wide ? "-head128" : ""));
            ModelConfig config = wide
                    ? RandomModel.config(arch, 2, 256, 96, 2, 1, 128, 80, DType.BF16, false, 1, List.of(2))
                    : RandomModel.config(arch, 2, 64, 96, 4, 2, 16, 80, DType.BF16, false, 1, List.of(2));
            RandomModel.write(new RandomModel.Spec(config, 11, 1), base);
            Path a8 = dir.resolve(base.getFileName() + "-a8");
            Path a16 = dir.resolve(base.getFileName() + "-a16");
            RandomModel.writeAdapter(base, 8, 16, List.of(Projection.values()), 21, DType.BF16, a8);
            RandomModel.writeAdapter(
                    base, 16, 16, List.of(Projection.Q, Projection.V, Projection.UP), 22, DType.BF16, a16);
            for (boolean kvF32 : new boolean[] {false, true}) {
                results.addAll(
                        cases(base, config, List.of(a8, a16), kvF32, gpus, graphBatch, bf16Logits, minSplitPositions));
            }
        }
        return results;
    }

    /** The steps of one model with its two adapters, both backends' KV caches bf16 or (kvF32) fp32. */
    private static List<Result> cases(
            Path base,
            ModelConfig config,
            List<Path> adapters,
            boolean kvF32,
            Supplier<Gpu> gpus,
            int graphBatch,
            boolean bf16Logits,
            int minSplitPositions)
            throws IOException {
        List<Result> results = new ArrayList<>();
        try (ModelFiles files = ModelFiles.open(base);
                CpuBackend cpu =
                        new CpuBackend(files, new CpuBackend.Options(1, 1, 256, 4, 2, kvF32 ? DType.F32 : DType.BF16));
                CudaBackend cuda = new CudaBackend(
                        files, new CudaBackend.Options(256, 4, 2, 16, kvF32, graphBatch), gpus.get(), bf16Logits)) {
            if (minSplitPositions > 0) {
                cuda.minSplitPositions(minSplitPositions);
            }
            for (int slot = 0; slot < 2; slot++) {
                LoraAdapter adapter = LoraAdapter.load("a" + slot, adapters.get(slot), files.config());
                cpu.loadAdapter(slot, adapter);
                cuda.loadAdapter(slot, adapter);
            }
            int[] a = {5, 17, 33, 2, 71, 9, 44};
            int[] b = {3, 8, 60, 12, 1};
            int[] blocksA = {0, 1, 2, 3};
            int[] blocksB = {7, 5, 6};
            String name = base.getFileName() + (kvF32 ? ", fp32 KV" : "") + (graphBatch > 0 ? ", decode graphs" : "");
            ForwardBatch batch = new ForwardBatch();
            batch.allLogits(true);
            batch.add(a, 0, 7, 0, 0, blocksA, 4, true);
            batch.add(b, 0, 5, 0, -1, blocksB, 3, true);
            results.add(compare(name, "prefill 7 (adapter rank 8) + 5 (base)", batch, cpu, cuda, config));
            for (int step = 0; step < 2; step++) {
                batch = new ForwardBatch();
                batch.add(new int[] {20 + step}, 0, 1, 7 + step, 0, blocksA, 4, true);
                batch.add(new int[] {30 + step}, 0, 1, 5 + step, step == 0 ? -1 : 1, blocksB, 3, true);
                results.add(compare(
                        name,
                        "decode " + (step + 1) + (step == 0 ? " (rank 8 + base)" : " (rank 8 + rank 16)"),
                        batch,
                        cpu,
                        cuda,
                        config));
            }
        }
        return results;
    }

    private static Result compare(
            String model, String step, ForwardBatch batch, CpuBackend cpu, CudaBackend cuda, ModelConfig c) {
        int rows = batch.assignLogitRows();
        float[] expected = new float[rows * c.vocabSize()];
        float[] actual = new float[rows * c.vocabSize()];
        java.util.Arrays.fill(actual, Float.NaN);
        cpu.forward(batch, expected);
        cuda.forward(batch, actual);
        double maxDiff = 0;
        double maxRef = 0;
        boolean nan = false;
        for (int i = 0; i < expected.length; i++) {
            nan |= Float.isNaN(actual[i]);
            maxDiff = Math.max(maxDiff, Math.abs(actual[i] - expected[i]));
            maxRef = Math.max(maxRef, Math.abs(expected[i]));
        }
        return new Result(model, step, maxRef == 0 ? Double.NaN : maxDiff / maxRef, nan);
    }
}
