package io.twinserve.engine.model;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;

/**
 * Type-checked reads of {@code config.json} fields: a field that is present must have the type and range
 * the engine needs ({@code "rope_theta": "abc"} is an error naming the field, not a silent default); an
 * absent or null field takes Hugging Face's default.
 */
final class ConfigFields {
    private final Path file;
    private final JsonNode node;
    private final String prefix;

    ConfigFields(Path file, JsonNode node) {
        this(file, node, "");
    }

    private ConfigFields(Path file, JsonNode node, String prefix) {
        this.file = file;
        this.node = node;
        this.prefix = prefix;
    }

    ConfigFields nested(JsonNode child, String childPrefix) {
        return new ConfigFields(file, child, prefix + childPrefix);
    }

    /** A required positive integer. */
    int positiveInt(String field) {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) {
            throw wrong(field, n, "a positive integer");
        }
        return positiveInt(field, 0);
    }

    int positiveInt(String field, int otherwise) {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() <= 0) {
            throw wrong(field, n, "a positive integer");
        }
        return n.intValue();
    }

    double positiveNumber(String field, double otherwise) {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        if (!n.isNumber() || !(n.doubleValue() > 0) || !Double.isFinite(n.doubleValue())) {
            throw wrong(field, n, "a positive number");
        }
        return n.doubleValue();
    }

    boolean bool(String field, boolean otherwise) {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        if (!n.isBoolean()) {
            throw wrong(field, n, "true or false");
        }
        return n.booleanValue();
    }

    String text(String field, String otherwise) {
        JsonNode n = node.get(field);
        if (n == null || n.isNull()) {
            return otherwise;
        }
        return text(n, field);
    }

    String text(JsonNode n, String field) {
        if (!n.isTextual()) {
            throw wrong(field, n, "a string");
        }
        return n.textValue();
    }

    int tokenId(JsonNode n, String field) {
        if (!n.isIntegralNumber() || !n.canConvertToInt() || n.intValue() < 0) {
            throw wrong(field, n, "a token id (an integer >= 0)");
        }
        return n.intValue();
    }

    private ModelFileException wrong(String field, JsonNode value, String expected) {
        String shown = value == null ? "missing" : value.toString();
        if (shown.length() > 60) {
            shown = shown.substring(0, 57) + "...";
        }
        return new ModelFileException(file, "field " + prefix + field + " is " + shown + "; expected " + expected);
    }

    /** A Jackson syntax error as "line L column C: what". */
    static String describe(JsonProcessingException e) {
        String what = e.getOriginalMessage() == null
                ? "malformed"
                : e.getOriginalMessage().split("\n")[0];
        return e.getLocation() == null
                ? what
                : "line " + e.getLocation().getLineNr() + " column "
                        + e.getLocation().getColumnNr() + ": " + what;
    }
}
