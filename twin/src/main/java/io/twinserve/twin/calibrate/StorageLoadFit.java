package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import java.util.ArrayList;
import java.util.List;

/**
 * The fit of an adapter's load from storage into host memory, and its rows: a fixed cost and a bandwidth,
 * by non-negative least squares on the adapter-load runs' mean disk-load time (the server's lifetime
 * loading time over its loads) against the adapter's bytes. Without those runs the defaults stay.
 */
final class StorageLoadFit {
    static final String FILE = "adapter_load_runs.csv";

    private StorageLoadFit() {}

    static RooflineParams fit(Csv runs, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
        if (runs == null) {
            return p;
        }
        RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
            if (!runs.text(i, "model").equals(name)) {
                continue;
            }
            double loads = runs.number(i, "server_lifetime_loads_from_disk");
            double perLoadNs = runs.number(i, "server_lifetime_loading_time_from_disk_s") / loads * 1e9;
            x.add(new double[] {1 / perLoadNs, perf.adapterBytes((int) runs.number(i, "adapter_rank")) / perLoadNs});
            y.add(1.0);
        }
        if (x.isEmpty()) {
            return p;
        }
        double[] c = LeastSquares.fitNonNegative(x, y);
        if (c[1] <= 0) {
            return p.with(Term.STORAGE_FIXED_NS, c[0]);
        }
        return p.with(List.of(Term.STORAGE_FIXED_NS, Term.STORAGE_BANDWIDTH), new double[] {c[0], 1e9 / c[1]});
    }

    static List<FitRow> reproduce(Csv runs, String name, ModelProfile model, GpuProfile gpu, RooflineParams p) {
        List<FitRow> out = new ArrayList<>();
        if (runs == null) {
            return out;
        }
        RooflinePerfModel perf = new RooflinePerfModel(model, gpu, 1, p);
        for (int i = 0; i < runs.size(); i++) {
            if (!runs.text(i, "model").equals(name)) {
                continue;
            }
            int rank = (int) runs.number(i, "adapter_rank");
            double measured = runs.number(i, "server_lifetime_loading_time_from_disk_s")
                    / runs.number(i, "server_lifetime_loads_from_disk")
                    * 1e3;
            double predicted = perf.adapterLoadFromStorageNs(rank) / 1e6;
            out.add(new FitRow(
                    "storage_loads",
                    FILE,
                    name,
                    "max_lora_rank=" + (int) runs.number(i, "max_lora_rank") + " adapter_rank=" + rank,
                    "disk_load_ms",
                    FitRow.round(measured),
                    FitRow.round(predicted),
                    FitRow.pct(predicted, measured)));
        }
        return out;
    }
}
