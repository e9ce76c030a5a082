package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.twinserve.traces.spec.SpecException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** {@code --sweep KEY=V1,V2,...}: the settings of each configuration, and their edits of the spec texts. */
final class SweepSettings {
  private static final ObjectMapper YAML = new YAMLMapper();

  private SweepSettings() {}

  /** The cartesian product of the sweeps, in the order given (the last key varies fastest). */
  static List<Map<String, String>> expand(List<String> sweeps) {
    List<Map<String, String>> out = new ArrayList<>();
    out.add(new LinkedHashMap<>());
    for (String s : sweeps) {
      int eq = s.indexOf('=');
      if (eq <= 0 || eq == s.length() - 1) {
        throw new IllegalArgumentException("--sweep: expected KEY=V1,V2,..., got '" + s + "'");
      }
      String key = s.substring(0, eq).trim();
      List<String> values = splitValues(s.substring(eq + 1));
      List<Map<String, String>> next = new ArrayList<>();
      for (Map<String, String> base : out) {
        for (String v : values) {
          Map<String, String> m = new LinkedHashMap<>(base);
          m.put(key, v.trim());
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

  /** Applies the settings whose keys belong to this document (workload.* or the rest) to its YAML. */
  static String edit(String yaml, Map<String, String> settings, boolean workloadDoc) throws IOException {
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
      boolean isWorkload = key.startsWith("workload.");
      if (isWorkload != workloadDoc) {
        continue;
      }
      String path = isWorkload ? key.substring("workload.".length()) : key.startsWith("deployment.")
          ? key.substring("deployment.".length()) : key;
      String[] parts = path.split("\\.");
      ObjectNode node = obj;
      for (int i = 0; i < parts.length - 1; i++) {
        JsonNode child = node.get(parts[i]);
        if (child == null || child.isNull()) {
          child = node.putObject(parts[i]);
        } else if (!(child instanceof ObjectNode)) {
          throw new SpecException("--sweep " + key, "'" + parts[i] + "' is not a mapping in the "
              + (workloadDoc ? "workload" : "deployment"));
        }
        node = (ObjectNode) child;
      }
      node.set(parts[parts.length - 1], YAML.readTree(e.getValue()));
      changed = true;
    }
    return changed ? YAML.writeValueAsString(root) : yaml;
  }
}
