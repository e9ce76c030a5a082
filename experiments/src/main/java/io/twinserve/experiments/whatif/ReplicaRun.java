package io.twinserve.experiments.whatif;

import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.sim.RunResult;
import io.twinserve.twin.slo.SloVerdict;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One configuration of a single-replica what-if: its sweep settings, the workload's name, the resolved
 * replica, the run, its SLO verdict and the notices on its inputs ({@link WhatIfNotices}); or, for a
 * configuration that could not run (one that does not fit in GPU memory, say), only the settings and the error.
 */
public record ReplicaRun(
        Map<String, String> settings,
        String workloadName,
        ResolvedReplica replica,
        RunResult result,
        SloVerdict verdict,
        Exception error,
        List<WhatIfNotices.Notice> notices) {
    public ReplicaRun {
        settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        notices = notices == null ? List.of() : List.copyOf(notices);
    }

    static ReplicaRun failed(Map<String, String> settings, Exception error) {
        return new ReplicaRun(settings, null, null, null, null, error, List.of());
    }

    public boolean ran() {
        return error == null;
    }

    /** The JSON document of this run ({@code what-if --json}): settings, names, SLO verdict and summary, or the error. */
    public Map<String, Object> document() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("settings", settings);
        if (error != null) {
            doc.put("error", error.getMessage());
            return doc;
        }
        doc.put("workload", workloadName);
        doc.put("deployment", replica.spec().name());
        doc.put("model", replica.model().name());
        doc.put("gpu", replica.gpu().name());
        doc.put(
                "calibration",
                replica.calibration() == null ? null : replica.calibration().name());
        doc.put("slo", verdict);
        if (!notices.isEmpty()) {
            // what the user should know before trusting the figures (WhatIfNotices); absent when nothing
            doc.put("notices", notices);
        }
        doc.put("summary", result.summary());
        return doc;
    }
}
