package io.twinserve.experiments.whatif;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.twinserve.traces.spec.SpecException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A sweep over spec keys ({@code --sweep KEY=V1,V2,...}, repeatable): its axes, the cartesian product of
 * their settings, and each setting's edit of the spec texts at its key path. Keys of a single-replica
 * what-if are {@code workload.<path>} (the workload spec) or any other path (the deployment spec, with an
 * optional {@code deployment.} prefix); keys of a cluster what-if are paths in the cluster spec that may
 * index lists, such as {@code deployments[0].router.type}.
 */
public record SpecSweep(List<Axis> axes) {
    private static final ObjectMapper YAML = new YAMLMapper();

    /** One swept key and the values it takes, in the order given. */
    public record Axis(String key, List<String> values) {
        public Axis {
            Objects.requireNonNull(key, "key");
            values = List.copyOf(values);
            if (key.isEmpty() || values.isEmpty()) {
                throw new IllegalArgumentException(
                        "--sweep: expected KEY=V1,V2,..., got key '" + key + "' with values " + values);
            }
        }
    }

    public SpecSweep {
        axes = List.copyOf(axes);
    }

    /** No sweep: one configuration with no settings. */
    /** Whether some axis of the sweep sets {@code key}. */
    public boolean varies(String key) {
        for (Axis a : axes) {
            if (a.key().equals(key)) {
                return true;
            }
        }
        return false;
    }

    public static SpecSweep none() {
        return new SpecSweep(List.of());
    }

    /** Parses {@code KEY=V1,V2,...} assignments; commas inside brackets stay in their value ({@code [0.2,0.1]}). */
    public static SpecSweep parse(List<String> assignments) {
        List<Axis> axes = new ArrayList<>();
        for (String s : assignments) {
            int eq = s.indexOf('=');
            if (eq <= 0 || eq == s.length() - 1) {
                throw new IllegalArgumentException("--sweep: expected KEY=V1,V2,..., got '" + s + "'");
            }
            List<String> values = new ArrayList<>();
            for (String v : splitValues(s.substring(eq + 1))) {
                values.add(v.trim());
            }
            axes.add(new Axis(s.substring(0, eq).trim(), values));
        }
        return new SpecSweep(axes);
    }

    /** The cartesian product of the axes, in the order given (the last key varies fastest). */
    public List<Map<String, String>> configurations() {
        List<Map<String, String>> out = new ArrayList<>();
        out.add(new LinkedHashMap<>());
        for (Axis a : axes) {
            List<Map<String, String>> next = new ArrayList<>();
            for (Map<String, String> base : out) {
                for (String v : a.values()) {
                    Map<String, String> m = new LinkedHashMap<>(base);
                    m.put(a.key(), v);
                    next.add(m);
                }
            }
            out = next;
        }
        return out;
    }

    /** Splits on commas outside brackets, so that list values such as [0.2,0.1] stay whole. */
    static List<String> splitValues(String text) {
        List<String> out = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '[' || c == '{') {
                depth++;
            } else if (c == ']' || c == '}') {
                depth--;
            } else if (c == ',' && depth == 0) {
                out.add(text.substring(start, i));
                start = i + 1;
            }
        }
        out.add(text.substring(start));
        if (depth != 0) {
            throw new IllegalArgumentException("--sweep: unbalanced brackets in '" + text + "'");
        }
        return out;
    }

    /**
     * The path a sweep key edits in the document of a single-replica what-if it belongs to ({@code workload.*}: the
     * workload, with the prefix dropped; the rest, with an optional {@code deployment.}: the deployment), or null when
     * it belongs to the other document.
     */
    static String pathIn(String key, boolean workloadDoc) {
        boolean isWorkload = isWorkloadKey(key);
        if (isWorkload != workloadDoc) {
            return null;
        }
        return isWorkload
                ? key.substring("workload.".length())
                : key.startsWith("deployment.") ? key.substring("deployment.".length()) : key;
    }

    /** Whether a single-replica sweep key edits the workload spec ({@code workload.*}) rather than the deployment. */
    static boolean isWorkloadKey(String key) {
        return key.startsWith("workload.");
    }

    /**
     * An error in a spec edited by the sweep, put on the swept key when it is about that key: the line of the file it
     * was applied to holds the original value, not the user's typo or value. A deployment key that names a workload
     * section gets a hint to prefix it with {@code workload.}.
     */
    static SpecException attribute(SpecException e, Map<String, String> settings, boolean workloadDoc) {
        String at = e.keyPath();
        if (at == null || at.isEmpty()) {
            return e;
        }
        for (Map.Entry<String, String> s : settings.entrySet()) {
            String key = s.getKey();
            String path = pathIn(key, workloadDoc);
            if (path == null) {
                continue;
            }
            // the error is about the swept key or inside it; or (an unknown key) about a parent the swept path
            // added a key to
            boolean about = at.equals(path) || at.startsWith(path + ".") || at.startsWith(path + "[");
            boolean parent = (path.startsWith(at + ".") || path.startsWith(at + "["))
                    && e.problem().startsWith("is not a known key");
            if (!about && !parent) {
                continue;
            }
            String bare = path.replaceAll("\\[\\d+]", "");
            String problem = e.problem();
            String first = bare.split("\\.")[0];
            if (!workloadDoc && WORKLOAD_KEYS.contains(first)) {
                problem += "; '" + first + "' is a workload key: sweep it as workload." + path;
            }
            return new SpecException("--sweep " + key + "=" + s.getValue() + ":", at + " " + problem);
        }
        return e;
    }

    /** The workload spec's top-level keys, as YAML spells them. */
    private static final java.util.Set<String> WORKLOAD_KEYS =
            keysOnlyIn(io.twinserve.traces.spec.WorkloadSpec.class, io.twinserve.twin.deploy.DeploymentSpec.class);

    /** The YAML keys of record {@code a} that record {@code b} does not have. */
    private static java.util.Set<String> keysOnlyIn(Class<? extends Record> a, Class<? extends Record> b) {
        java.util.Set<String> out = new java.util.HashSet<>(yamlKeys(a));
        out.removeAll(yamlKeys(b));
        return java.util.Set.copyOf(out);
    }

    private static java.util.Set<String> yamlKeys(Class<? extends Record> r) {
        return java.util.Arrays.stream(r.getRecordComponents())
                .map(c -> c.getName().replaceAll("([a-z0-9])([A-Z])", "$1_$2").toLowerCase(java.util.Locale.ROOT))
                .collect(java.util.stream.Collectors.toSet());
    }

    /**
     * Applies the settings whose keys belong to this document of a single-replica what-if (workload.* to the
     * workload, the rest to the deployment) to its YAML; returns the text unchanged when none does.
     */
    static String editReplicaSpec(String yaml, Map<String, String> settings, boolean workloadDoc) throws IOException {
        if (yaml == null || settings.isEmpty()) {
            return yaml;
        }
        JsonNode root = YAML.readTree(yaml);
        if (!(root instanceof ObjectNode obj)) {
            return yaml;
        }
        boolean changed = false;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String key = e.getKey();
            String path = pathIn(key, workloadDoc);
            if (path == null) {
                continue;
            }
            String[] parts = path.split("\\.");
            ObjectNode node = obj;
            for (int i = 0; i < parts.length - 1; i++) {
                JsonNode child = node.get(parts[i]);
                if (child == null || child.isNull()) {
                    child = node.putObject(parts[i]);
                } else if (!(child instanceof ObjectNode)) {
                    throw new SpecException(
                            "--sweep " + key,
                            "'" + parts[i] + "' is not a mapping in the " + (workloadDoc ? "workload" : "deployment"));
                }
                node = (ObjectNode) child;
            }
            node.set(parts[parts.length - 1], YAML.readTree(e.getValue()));
            changed = true;
        }
        return changed ? YAML.writeValueAsString(root) : yaml;
    }

    /** Applies the settings to a cluster spec's YAML at their key paths, which may index lists. */
    static String editCluster(String yaml, Map<String, String> settings) throws IOException {
        if (settings.isEmpty()) {
            return yaml;
        }
        JsonNode root = YAML.readTree(yaml);
        for (Map.Entry<String, String> e : settings.entrySet()) {
            set((ObjectNode) root, e.getKey(), YAML.readTree(e.getValue()), "cluster spec");
        }
        return YAML.writeValueAsString(root);
    }

    /** Sets a value at a key path such as {@code deployments[0].router.type} in a parsed YAML document. */
    private static void set(ObjectNode root, String path, JsonNode value, String what) {
        String[] parts = path.split("\\.");
        JsonNode node = root;
        for (int i = 0; i < parts.length; i++) {
            String part = parts[i];
            int bracket = part.indexOf('[');
            String name = bracket < 0 ? part : part.substring(0, bracket);
            boolean last = i == parts.length - 1;
            if (!(node instanceof ObjectNode obj)) {
                throw new SpecException("--sweep " + path, "'" + name + "' is not inside a mapping of the " + what);
            }
            if (bracket < 0) {
                if (last) {
                    obj.set(name, value);
                    return;
                }
                JsonNode child = obj.get(name);
                if (child == null || child.isNull()) {
                    child = obj.putObject(name);
                }
                node = child;
                continue;
            }
            if (!part.endsWith("]")) {
                throw new SpecException("--sweep " + path, "'" + part + "' should look like name[index]");
            }
            int index;
            try {
                index = Integer.parseInt(part.substring(bracket + 1, part.length() - 1));
            } catch (NumberFormatException e) {
                throw new SpecException("--sweep " + path, "'" + part + "' should look like name[index]");
            }
            JsonNode list = obj.get(name);
            if (!(list instanceof ArrayNode array) || index < 0 || index >= array.size()) {
                throw new SpecException("--sweep " + path, "the " + what + " has no " + name + "[" + index + "]");
            }
            if (last) {
                array.set(index, value);
                return;
            }
            node = array.get(index);
        }
    }
}
