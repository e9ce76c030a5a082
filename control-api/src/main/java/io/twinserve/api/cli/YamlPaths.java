package io.twinserve.api.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.traces.spec.SpecException;

/** Sets a value at a key path such as {@code deployments[0].router.type} in a parsed YAML document. */
final class YamlPaths {
  private YamlPaths() {}

  static void set(ObjectNode root, String path, JsonNode value, String what) {
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
