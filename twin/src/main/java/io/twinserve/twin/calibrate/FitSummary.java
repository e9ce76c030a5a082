package io.twinserve.twin.calibrate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code fit} and {@code provenance} nodes of a calibration file: the scheduler-time fit, each family's
 * errors, the leave-one-family-out errors, every reproduced row and the worst one; and where the data came
 * from.
 */
final class FitSummary {
    private final CalibrationSetup setup;
    private final ObjectMapper json = new ObjectMapper();

    FitSummary(CalibrationSetup setup) {
        this.setup = setup;
    }

    JsonNode fit(
            List<FitRow> rows, List<TimingFit.HeldOut> heldOut, double[] scheduler, String lender, BurstClient client) {
        ObjectNode fit = json.createObjectNode();
        if (client.runs() > 0) {
            ObjectNode c = fit.putObject("burst_client");
            c.put("before_ms_per_request", FitRow.round(client.beforePerRequestS() * 1e3));
            c.put("after_ms_per_request", FitRow.round(client.afterPerRequestS() * 1e3));
            c.put("runs", client.runs());
            c.put(
                    "note",
                    "the benchmark client's time around a burst sent at once, read from the long prefill bursts'"
                            + " TTFT median and p99; used only to compare burst rows, not part of the twin");
        }
        if (scheduler != null) {
            ObjectNode sched = fit.putObject("scheduler_time");
            sched.put("per_step_ns", Math.round(scheduler[0]));
            sched.put("per_running_ns", Math.round(scheduler[1]));
            sched.put("per_waiting_ns", FitRow.round(scheduler[2]));
            sched.put("per_blocked_waiting_ns", FitRow.round(scheduler[3]));
            sched.put("note", "floors of step_overhead_ns and per_sequence_ns; per_waiting_ns as fitted");
        }
        if (lender != null) {
            fit.put("lora_per_token_costs_from", lender);
        }
        ArrayNode families = fit.putArray("families");
        Map<String, double[]> stats = new LinkedHashMap<>();
        for (FitRow r : rows) {
            double[] st = stats.computeIfAbsent(r.family(), k -> new double[6]);
            st[0]++;
            st[1] += Math.abs(r.errorPct());
            st[2] = Math.max(st[2], Math.abs(r.errorPct()));
            st[3] += Math.abs(r.errorPct()) <= 5 ? 1 : 0;
            // a family's rates summed over its runs: the error of its total, as a study over many runs reports it
            if (r.quantity().endsWith("_per_s") && Double.isFinite(r.predicted())) {
                st[4] += r.measured();
                st[5] += r.predicted();
            }
        }
        for (Map.Entry<String, double[]> e : stats.entrySet()) {
            ObjectNode o = families.addObject();
            o.put("family", e.getKey());
            o.put("rows", (int) e.getValue()[0]);
            o.put("mean_abs_error_pct", FitRow.round(e.getValue()[1] / e.getValue()[0]));
            o.put("max_abs_error_pct", FitRow.round(e.getValue()[2]));
            o.put("within_5_pct", (int) e.getValue()[3]);
            if (e.getValue()[4] > 0) {
                o.put(
                        "total_rate_error_pct",
                        FitRow.round((e.getValue()[5] - e.getValue()[4]) / e.getValue()[4] * 100));
            }
        }
        ArrayNode lofo = fit.putArray("leave_one_family_out");
        for (TimingFit.HeldOut h : heldOut) {
            ObjectNode o = lofo.addObject();
            o.put("family", h.family());
            o.put("rows", h.rows());
            o.put("mean_abs_error_pct", FitRow.round(h.meanAbsErrorPct()));
            o.put("max_abs_error_pct", FitRow.round(h.maxAbsErrorPct()));
        }
        FitRow worst = null;
        ArrayNode arr = fit.putArray("rows");
        for (FitRow r : rows) {
            ObjectNode o = arr.addObject();
            o.put("family", r.family());
            o.put("file", r.file());
            o.put("row", r.row());
            o.put("quantity", r.quantity());
            o.put("measured", r.measured());
            o.put("predicted", r.predicted());
            o.put("error_pct", FitRow.round(r.errorPct()));
            if (worst == null || Math.abs(r.errorPct()) > Math.abs(worst.errorPct())) {
                worst = r;
            }
        }
        if (worst != null) {
            fit.put(
                    "worst",
                    worst.file() + " " + worst.row() + " " + worst.quantity() + ": " + FitRow.round(worst.errorPct())
                            + "%");
        }
        return fit;
    }

    JsonNode provenance() {
        ObjectNode p = json.createObjectNode();
        p.put("setup", setup.name());
        p.put("engine", setup.engine());
        p.put(
                "data",
                "calibration/" + setup.name() + "/data (copied from ../shared/data/calibration/" + setup.name() + ")");
        p.put("source", "Agullo et al., Maximizing GPU Efficiency via Optimal Adapter Caching, arXiv 2508.08343");
        p.put("command", "twinserve calibrate calibration/" + setup.name());
        String v = FitSummary.class.getPackage().getImplementationVersion();
        p.put("twinserve_version", v == null ? "development build" : v);
        return p;
    }
}
