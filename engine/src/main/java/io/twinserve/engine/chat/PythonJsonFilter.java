package io.twinserve.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.Arrays;
import java.util.Collection;
import java.util.Map;

/**
 * The {@code tojson} filter as Hugging Face defines it: Python's {@code json.dumps} with
 * {@code ensure_ascii=False}, so {@code {"a": 1, "b": [1, 2]}} keeps its spaces; Jinjava's own filter
 * writes compact JSON.
 */
final class PythonJsonFilter implements Filter {
    private static final int MAX_DEPTH = 256;

    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, String... args) {
        Integer indent = args.length > 0 && args[0] != null ? Integer.valueOf(args[0]) : null;
        return dumps(value, indent);
    }

    @Override
    public Object filter(Object value, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.containsKey("indent") ? kwargs.get("indent") : args.length > 0 ? args[0] : null;
        return dumps(
                value,
                indent == null
                        ? null
                        : ((Number) (indent instanceof String s ? Integer.valueOf(s) : indent)).intValue());
    }

    static String dumps(Object value, Integer indent) {
        if (indent != null && Math.abs((long) indent) > WidthLimitingFilter.MAX_WIDTH) {
            throw new ChatTemplateException("chat template refused: the indent " + indent
                    + " given to the 'tojson' filter is over the limit of " + WidthLimitingFilter.MAX_WIDTH);
        }
        StringBuilder out = new StringBuilder();
        write(value, indent, 0, out);
        return out.toString();
    }

    private static void write(Object value, Integer indent, int depth, StringBuilder out) {
        // a list that contains itself would recurse until the stack overflows; Python's json.dumps refuses it too
        if (depth > MAX_DEPTH) {
            throw new ChatTemplateException("chat template refused: tojson of a value nested deeper than " + MAX_DEPTH
                    + " (a circular reference?)");
        }
        ChatTemplate.checkStringLength(out.length(), "tojson");
        switch (value) {
            case null -> out.append("null");
            case Boolean b -> out.append(b ? "true" : "false");
            case Integer i -> out.append(i);
            case Long l -> out.append(l);
            case Number n ->
                out.append(
                        n.doubleValue() == Math.rint(n.doubleValue()) && !Double.isInfinite(n.doubleValue())
                                ? String.valueOf(n.doubleValue())
                                : n.toString());
            case Map<?, ?> map -> {
                out.append('{');
                int k = 0;
                for (Map.Entry<?, ?> entry : map.entrySet()) {
                    separate(k++, indent, depth + 1, out);
                    string(String.valueOf(entry.getKey()), out);
                    out.append(": ");
                    write(entry.getValue(), indent, depth + 1, out);
                }
                close(k, indent, depth, out);
                out.append('}');
            }
            case Collection<?> list -> {
                out.append('[');
                int k = 0;
                for (Object item : list) {
                    separate(k++, indent, depth + 1, out);
                    write(item, indent, depth + 1, out);
                }
                close(k, indent, depth, out);
                out.append(']');
            }
            case Object[] array -> write(Arrays.asList(array), indent, depth, out);
            default -> string(value.toString(), out);
        }
    }

    /** Python's separators: ", " inline, "," plus a newline and indentation when indent is given. */
    private static void separate(int index, Integer indent, int depth, StringBuilder out) {
        if (indent == null) {
            if (index > 0) {
                out.append(", ");
            }
            return;
        }
        if (index > 0) {
            out.append(',');
        }
        newline(indent, depth, out);
    }

    private static void newline(int indent, int depth, StringBuilder out) {
        long width = Math.max(0L, (long) indent * depth);
        ChatTemplate.checkStringLength(out.length() + 1 + width, "tojson");
        out.append('\n').append(" ".repeat((int) width));
    }

    private static void close(int count, Integer indent, int depth, StringBuilder out) {
        if (indent != null && count > 0) {
            newline(indent, depth, out);
        }
    }

    private static void string(String text, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
