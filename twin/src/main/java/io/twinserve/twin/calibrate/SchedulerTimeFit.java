package io.twinserve.twin.calibrate;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The fit of the scheduler's time per step against its running batch and waiting queue, from the
 * scheduler-overhead table, and its rows.
 */
final class SchedulerTimeFit {
    private SchedulerTimeFit() {}

    /**
     * The scheduler's time per step against the running batch and the waiting queue, a + b·running +
     * c·waiting + d·waiting while slots block it, in ns, by least squares on relative errors; null without the
     * scheduler table.
     */
    static double[] fit(List<double[]> runs) {
        if (runs.isEmpty()) {
            return null;
        }
        List<double[]> x = new ArrayList<>();
        List<Double> y = new ArrayList<>();
        for (double[] r : runs) {
            x.add(new double[] {1 / r[3], r[0] / r[3], r[1] / r[3], r[1] * r[2] / r[3]});
            y.add(1.0);
        }
        double[] c = LeastSquares.fitNonNegative(x, y);
        // ms -> ns
        return new double[] {c[0] * 1e6, c[1] * 1e6, c[2] * 1e6, c[3] * 1e6};
    }

    static List<FitRow> reproduce(TimingRows timing, String name, double[] c) throws IOException {
        List<FitRow> out = new ArrayList<>();
        List<double[]> runs = timing.schedulerTimes();
        for (int i = 0; i < runs.size(); i++) {
            double[] r = runs.get(i);
            double predicted = (c[0] + c[1] * r[0] + c[2] * r[1] + c[3] * r[1] * r[2]) / 1e6;
            out.add(new FitRow(
                    "scheduler_overhead_time",
                    TimingRows.SCHEDULER,
                    name,
                    timing.schedulerKey(i),
                    "scheduling_ms_per_step",
                    FitRow.round(r[3]),
                    FitRow.round(predicted),
                    FitRow.pct(predicted, r[3])));
        }
        return out;
    }
}
