package io.twinserve.traces.spec;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which kind of spec a YAML document is, from the top-level keys only that kind has, for the error a file given in
 * the wrong place gets ("this looks like a workload spec, not a capacity spec"): a workload spec passed to
 * {@code capacity}, or a deployment spec given as {@code --workload}, otherwise names only its first key as unknown.
 * The spec types live in several modules; each kind is named here by its record's simple name and its own keys.
 */
final class SpecKinds {
    /** Each kind's keys that no other kind has at its top level, and the spec record it is parsed into. */
    private static final Map<String, Set<String>> OWN_KEYS = new LinkedHashMap<>();

    private static final Map<String, String> KIND_OF_TYPE = Map.of(
            "WorkloadSpec", "workload spec",
            "DeploymentSpec", "deployment spec",
            "ClusterSpec", "cluster spec",
            "CapacitySpec", "capacity spec",
            "SweepSpec", "sweep spec");

    static {
        // (keys several kinds share, such as name, model, pools, replica, perf_model, slo and seed, tell nothing)
        OWN_KEYS.put(
                "workload spec",
                Set.of("adapters", "arrivals", "lengths", "duration_s", "sessions", "requests", "client"));
        OWN_KEYS.put("deployment spec", Set.of("gpu", "starvation_bound_s"));
        OWN_KEYS.put("cluster spec", Set.of("deployments", "traffic"));
        OWN_KEYS.put("capacity spec", Set.of("search", "window_s", "rate", "workload", "adapter_rank", "max_ttft_ms"));
    }

    private SpecKinds() {}

    /**
     * "; the file looks like a workload spec (it has adapters, arrivals), not a capacity spec" when the document's
     * top-level keys are those of another kind than {@code type}'s; empty otherwise (or when {@code type} is not one
     * of the kinds named here).
     */
    static String hint(ObjectMapper yaml, String text, Class<?> type) {
        String expected = KIND_OF_TYPE.get(type.getSimpleName());
        if (expected == null) {
            return "";
        }
        JsonNode root;
        try {
            root = yaml.readTree(text);
        } catch (Exception e) {
            return "";
        }
        if (root == null || !root.isObject()) {
            return "";
        }
        String best = null;
        List<String> bestKeys = List.of();
        for (Map.Entry<String, Set<String>> kind : OWN_KEYS.entrySet()) {
            if (kind.getKey().equals(expected)) {
                continue;
            }
            List<String> found = new ArrayList<>();
            for (var it = root.fieldNames(); it.hasNext(); ) {
                String key = it.next();
                if (kind.getValue().contains(key)) {
                    found.add(key);
                }
            }
            if (found.size() > bestKeys.size()) {
                best = kind.getKey();
                bestKeys = found;
            }
        }
        if (best == null) {
            return "";
        }
        return "; the file looks like a " + best + " (it has " + String.join(", ", bestKeys) + "), not a " + expected;
    }
}
