package io.twinserve.twin.calibrate;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The replayed Poisson runs' errors by adapter slots (the rows' {@code max_loras}): where the twin's answer
 * drifts as slots grow is what the blind check of many-adapter serving looks at first.
 *
 * @param family the replay family ({@code poisson_runs_...})
 * @param slots the slot counts, ascending
 * @param completedTotalPct per slot count, Σ predicted over Σ measured completed requests/s, minus 1, in %
 * @param itlMeanSignedPct per slot count, the mean signed error of the runs' mean ITL, in %
 */
public record SlotBreakdown(
        String family, List<Integer> slots, List<Double> completedTotalPct, List<Double> itlMeanSignedPct) {

    private static final Pattern SLOTS = Pattern.compile("max_loras=(\\d+)");

    /** One breakdown per family of rows whose family starts with {@code prefix}, in the order met. */
    public static List<SlotBreakdown> of(List<FitRow> rows, String prefix) {
        Map<String, TreeMap<Integer, double[]>> byFamily = new LinkedHashMap<>();
        for (FitRow r : rows) {
            if (!r.family().startsWith(prefix)) {
                continue;
            }
            Matcher m = SLOTS.matcher(r.row());
            if (!m.find()) {
                continue;
            }
            // measured and predicted completed/s, Σ ITL error, ITL rows
            double[] a = byFamily.computeIfAbsent(r.family(), f -> new TreeMap<>())
                    .computeIfAbsent(Integer.parseInt(m.group(1)), s -> new double[4]);
            switch (r.quantity()) {
                case "completed_requests_per_s" -> {
                    a[0] += r.measured();
                    a[1] += r.predicted();
                }
                case "mean_itl_ms" -> {
                    a[2] += r.errorPct();
                    a[3]++;
                }
                default -> {}
            }
        }
        List<SlotBreakdown> out = new ArrayList<>();
        byFamily.forEach((family, bySlots) -> {
            List<Integer> slots = new ArrayList<>();
            List<Double> completed = new ArrayList<>();
            List<Double> itl = new ArrayList<>();
            bySlots.forEach((s, a) -> {
                slots.add(s);
                completed.add(a[0] > 0 ? (a[1] / a[0] - 1) * 100 : Double.NaN);
                itl.add(a[3] > 0 ? a[2] / a[3] : Double.NaN);
            });
            out.add(new SlotBreakdown(family, List.copyOf(slots), List.copyOf(completed), List.copyOf(itl)));
        });
        return out;
    }
}
