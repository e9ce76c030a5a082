package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * The fit of an adapter's load from host memory into a slot (a fixed cost, a padding cost when the
 * adapter's rank is below the slots' rank, a cost per byte) from {@code adapter_load_cpu_to_gpu_ms.csv},
 * and its rows.
 */
final class AdapterLoadFit {
    static final String FILE = "adapter_load_cpu_to_gpu_ms.csv";

    private AdapterLoadFit() {}

    static RooflineParams fit(Csv load, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
        RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (int i = 0; i < load.size(); i++) {
            if (!load.text(i, "model").equals(name)) {
                continue;
            }
            int maxRank = (int) load.number(i, "max_lora_rank");
            int rank = (int) load.number(i, "adapter_rank");
            x.add(new double[] {1, rank < maxRank ? 1 : 0, perf.adapterBytes(rank)});
            y.add(load.number(i, "load_ms") * 1e6);
        }
        double[] c = LeastSquares.fitNonNegative(x, y);
        return p.with(
                List.of(Term.ADAPTER_LOAD_FIXED_NS, Term.ADAPTER_LOAD_PADDING_NS, Term.ADAPTER_LOAD_NS_PER_BYTE),
                new double[] {c[0], c[1], c[2]});
    }

    static List<FitRow> reproduce(Csv load, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
        RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
        List<FitRow> out = new ArrayList<>();
        for (int i = 0; i < load.size(); i++) {
            if (!load.text(i, "model").equals(name)) {
                continue;
            }
            int maxRank = (int) load.number(i, "max_lora_rank");
            int rank = (int) load.number(i, "adapter_rank");
            double measured = load.number(i, "load_ms");
            double predicted = perf.adapterLoadFromCpuNs(rank, maxRank) / 1e6;
            out.add(new FitRow(
                    "adapter_loads",
                    FILE,
                    name,
                    "max_lora_rank=" + maxRank + " adapter_rank=" + rank,
                    "load_ms",
                    measured,
                    FitRow.round(predicted),
                    FitRow.pct(predicted, measured)));
        }
        return out;
    }
}
