package io.twinserve.twin.calibrate;

import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.memory.MemoryCalibration;
import io.twinserve.twin.memory.MemoryModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * The memory model's fit: the activation reserve from the LoRA-disabled KV capacity, then the LoRA reserve,
 * the per-slot bytes and the scale of the stacked LoRA tensors by least squares over the other rows of
 * {@code kv_capacity_tokens.csv}; and every row's reproduction, start failures included.
 */
final class MemoryFit {
    static final String FILE = "kv_capacity_tokens.csv";

    private final CalibrationSetup setup;

    MemoryFit(CalibrationSetup setup) {
        this.setup = setup;
    }

    private ReplicaSpec replica(int maxLoras, int maxRank) {
        return new ReplicaSpec(
                1,
                null,
                setup.gpuMemoryUtilization(),
                maxLoras,
                Math.max(maxLoras, 1),
                Math.max(1, maxRank),
                null,
                setup.maxNumBatchedTokens(),
                setup.blockSize(),
                true,
                false,
                null,
                null);
    }

    MemoryCalibration fit(Csv kv, String name, ModelProfile model, GpuProfile gpu) {
        long perToken = model.kvBytesPerToken();
        long budget = (long) (gpu.memoryBytes() * setup.gpuMemoryUtilization());
        long baseKv = -1;
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (int i = 0; i < kv.size(); i++) {
            if (!kv.text(i, "model").equals(name) || !kv.text(i, "started").equals("yes")) {
                continue;
            }
            int slots = (int) kv.number(i, "max_loras");
            long tokens = (long) kv.number(i, "kv_cache_tokens");
            if (slots == 0) {
                baseKv = tokens;
            }
        }
        if (baseKv < 0) {
            throw new IllegalArgumentException(kv.file + ": no row with max_loras 0 for " + name
                    + "; the activation reserve is fitted from the LoRA-disabled capacity");
        }
        // half a block centres the rounding of the measured capacity
        long activation = budget - model.weightBytes() - baseKv * perToken - perToken * setup.blockSize() / 2;
        MemoryCalibration unit = new MemoryCalibration(activation, 0, 0, 1.0, MemoryCalibration.TWO_MIB);
        for (int i = 0; i < kv.size(); i++) {
            if (!kv.text(i, "model").equals(name) || !kv.text(i, "started").equals("yes")) {
                continue;
            }
            int slots = (int) kv.number(i, "max_loras");
            if (slots == 0) {
                continue;
            }
            int rank = (int) kv.number(i, "max_lora_rank");
            long tokens = (long) kv.number(i, "kv_cache_tokens");
            double loraBytes = (double) (baseKv - tokens) * perToken;
            double tensors = MemoryModel.adapterSlotBytes(model, replica(slots, rank), unit);
            x.add(new double[] {1, slots, tensors});
            y.add(loraBytes);
        }
        double[] c = LeastSquares.fitNonNegative(x, y);
        return new MemoryCalibration(activation, Math.round(c[0]), Math.round(c[1]), c[2], MemoryCalibration.TWO_MIB);
    }

    List<FitRow> reproduce(Csv kv, String name, ModelProfile model, GpuProfile gpu, MemoryCalibration m) {
        List<FitRow> out = new ArrayList<>();
        for (int i = 0; i < kv.size(); i++) {
            if (!kv.text(i, "model").equals(name)) {
                continue;
            }
            int slots = (int) kv.number(i, "max_loras");
            int rank = (int) kv.number(i, "max_lora_rank");
            boolean started = kv.text(i, "started").equals("yes");
            String key = "max_loras=" + slots + " max_lora_rank=" + rank;
            long predicted;
            try {
                predicted =
                        MemoryModel.resolve(model, gpu, replica(slots, rank), m).kvCacheTokens();
            } catch (InsufficientGpuMemoryException e) {
                predicted = -1;
            }
            if (!started) {
                out.add(new FitRow(
                        "memory",
                        FILE,
                        name,
                        key,
                        "fails_to_start",
                        1,
                        predicted < 0 ? 1 : 0,
                        predicted < 0 ? 0 : 100));
                continue;
            }
            double measured = kv.number(i, "kv_cache_tokens");
            out.add(new FitRow(
                    "memory",
                    FILE,
                    name,
                    key,
                    "kv_cache_tokens",
                    measured,
                    predicted,
                    predicted < 0 ? -100 : FitRow.pct(predicted, measured)));
        }
        return out;
    }
}
