package io.twinserve.api.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.traces.spec.KeySuggestions;
import java.io.IOException;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Reading request bodies by hand, so every mistake is answered with the field's name, what was wrong
 * and what was expected (a data binder would answer some with a stack-trace-like message or a 500).
 */
public final class Bodies {
    public static final ObjectMapper JSON = new ObjectMapper();

    private Bodies() {}

    public static ObjectNode object(byte[] body) {
        if (body == null || body.length == 0) {
            throw ApiException.badRequest(null, "the request body is empty; expected a JSON object");
        }
        JsonNode n;
        try {
            n = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, invalidJson(e));
        } catch (IOException e) {
            throw ApiException.badRequest(null, "the request body could not be read: " + e.getMessage());
        }
        if (n == null || !n.isObject()) {
            throw ApiException.badRequest(
                    null,
                    "the request body must be a JSON object, got "
                            + (n == null ? "nothing" : n.getNodeType().name().toLowerCase(Locale.ROOT)));
        }
        return (ObjectNode) n;
    }

    /** What is wrong with a body that does not parse, and where. */
    public static String invalidJson(JsonProcessingException e) {
        String where = e.getLocation() == null
                ? ""
                : " at line " + e.getLocation().getLineNr() + ", column "
                        + e.getLocation().getColumnNr();
        return "the request body is not valid JSON" + where + ": " + e.getOriginalMessage();
    }

    public static String requiredString(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            throw ApiException.badRequest(field, "'" + field + "' is required");
        }
        if (!v.isTextual() || v.asText().isBlank()) {
            throw ApiException.badRequest(field, "'" + field + "' must be a non-empty string, got " + v);
        }
        return v.asText();
    }

    public static String optionalString(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isTextual()) {
            throw ApiException.badRequest(field, "'" + field + "' must be a string, got " + v);
        }
        return v.asText();
    }

    public static Integer optionalInt(JsonNode o, String field, int min, int max) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.canConvertToInt() || !v.isIntegralNumber()) {
            throw ApiException.badRequest(field, "'" + field + "' must be an integer, got " + v);
        }
        int i = v.asInt();
        if (i < min || i > max) {
            throw ApiException.badRequest(
                    field, "'" + field + "' must be between " + min + " and " + max + ", got " + i);
        }
        return i;
    }

    public static Double optionalDouble(JsonNode o, String field, double min, double max) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isNumber()) {
            throw ApiException.badRequest(field, "'" + field + "' must be a number, got " + v);
        }
        double d = v.asDouble();
        if (!(d >= min && d <= max)) {
            throw ApiException.badRequest(
                    field, "'" + field + "' must be between " + min + " and " + max + ", got " + d);
        }
        return d;
    }

    public static Boolean optionalBoolean(JsonNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) {
            return null;
        }
        if (!v.isBoolean()) {
            throw ApiException.badRequest(field, "'" + field + "' must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    /**
     * Refuses a body with a key outside {@code known}, naming it, the closest known key and every known one:
     * a typo (say {@code time_scal}) must not pass as a default silently.
     *
     * @param what the body, for the message ("a deployment")
     */
    public static void onlyKeys(ObjectNode body, String what, List<String> known) {
        String key = unknownKey(body, known);
        if (key != null) {
            throw ApiException.badRequest(
                    key,
                    "'" + key + "' is not a key of " + what + KeySuggestions.didYouMean(key, known)
                            + "; expected one of " + String.join(", ", known));
        }
    }

    /** The first key of {@code body} outside {@code known}, or null (each caller words its own refusal). */
    public static String unknownKey(ObjectNode body, Collection<String> known) {
        for (Iterator<String> keys = body.fieldNames(); keys.hasNext(); ) {
            String key = keys.next();
            if (!known.contains(key)) {
                return key;
            }
        }
        return null;
    }
}
