package io.twinserve.traces.spec;

import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * Finds a spec's first unknown key by walking its YAML against the spec record's properties. {@link WorkloadSpecs}
 * asks it when Jackson failed on something else: a record's own check runs before Jackson reports the unknown keys
 * it set aside, so a misspelt key would otherwise surface as the check its absence upset.
 */
final class SpecKeyAudit {
    private SpecKeyAudit() {}

    /**
     * The first key of {@code yaml} that {@code type} (or a nested spec record) does not know, as the error Jackson
     * would give for it, or null. Polymorphic and free-form (map) values are not looked into.
     */
    static SpecException unknownKey(ObjectMapper mapper, String yaml, Path file, Class<?> type) {
        JsonNode tree;
        try {
            tree = mapper.readTree(yaml);
        } catch (IOException e) {
            return null;
        }
        String[] found = unknownKey(mapper, tree, mapper.constructType(type), "");
        if (found == null) {
            return null;
        }
        String keyPath = found[0];
        int line = WorkloadSpecs.lineOfKey(yaml, keyPath);
        return new SpecException(file, line, keyPath, found[1]);
    }

    /** {key path, problem} of the first unknown key under {@code node} read as {@code type}, or null. */
    private static String[] unknownKey(ObjectMapper mapper, JsonNode node, JavaType type, String path) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (type.isContainerType()) {
            if (type.isMapLikeType() || !node.isArray()) {
                return null;
            }
            for (int i = 0; i < node.size(); i++) {
                String[] f = unknownKey(mapper, node.get(i), type.getContentType(), path + "[" + i + "]");
                if (f != null) {
                    return f;
                }
            }
            return null;
        }
        Class<?> raw = type.getRawClass();
        if (!node.isObject()
                || raw.isInterface()
                || java.lang.reflect.Modifier.isAbstract(raw.getModifiers())
                || raw.getName().startsWith("java.")
                || raw.isEnum()
                || raw == JsonNode.class) {
            return null;
        }
        var description = mapper.getDeserializationConfig().introspect(type);
        java.util.Map<String, JavaType> known = new java.util.LinkedHashMap<>();
        for (var p : description.findProperties()) {
            known.put(p.getName(), p.getPrimaryType());
        }
        if (known.isEmpty()) {
            return null;
        }
        for (var it = node.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            String keyPath = path.isEmpty() ? key : path + "." + key;
            JavaType child = known.get(key);
            if (child == null) {
                List<String> names = known.keySet().stream().sorted().toList();
                return new String[] {
                    keyPath,
                    "is not a known key" + KeySuggestions.didYouMean(key, names) + "; expected one of "
                            + String.join(", ", names)
                };
            }
            String[] f = unknownKey(mapper, node.get(key), child, keyPath);
            if (f != null) {
                return f;
            }
        }
        return null;
    }
}
