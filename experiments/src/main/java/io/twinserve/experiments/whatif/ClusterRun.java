package io.twinserve.experiments.whatif;

import io.twinserve.twin.cluster.ClusterResult;
import io.twinserve.twin.slo.SloVerdict;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One configuration of a cluster what-if: its sweep settings, the names of its traffic's workloads, the run,
 * each deployment's SLO verdict by name and the notices on its inputs ({@link WhatIfNotices#ofCluster}); or, for
 * one that could not run, only the settings and the error.
 */
public record ClusterRun(
        Map<String, String> settings,
        List<String> workloads,
        ClusterResult result,
        Map<String, SloVerdict> verdicts,
        List<WhatIfNotices.Notice> notices,
        Exception error) {
    public ClusterRun {
        settings = Collections.unmodifiableMap(new LinkedHashMap<>(settings));
        workloads = List.copyOf(workloads);
        notices = notices == null ? List.of() : List.copyOf(notices);
        verdicts = verdicts == null ? null : Collections.unmodifiableMap(new LinkedHashMap<>(verdicts));
    }

    static ClusterRun failed(Map<String, String> settings, Exception error) {
        return new ClusterRun(settings, List.of(), null, null, null, error);
    }

    public boolean ran() {
        return error == null;
    }

    /**
     * The JSON document of this run ({@code what-if --cluster --json}): settings, workloads, notices (when there
     * are some), verdicts, summary.
     */
    public Map<String, Object> document() {
        Map<String, Object> doc = new LinkedHashMap<>();
        doc.put("settings", settings);
        if (error != null) {
            doc.put("error", error.getMessage());
            return doc;
        }
        doc.put("workloads", workloads);
        if (!notices.isEmpty()) {
            doc.put("notices", notices);
        }
        doc.put("slo", verdicts);
        doc.put("summary", result.summary());
        return doc;
    }
}
