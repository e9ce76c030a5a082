package io.twinserve.engine.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.util.ForLoop;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Predicate;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Gives Jinjava the Python methods chat templates call on strings, lists and dicts ({@code .startswith},
 * {@code .split}, {@code .strip}, {@code .items()} ...), {@code loop.previtem}/{@code loop.nextitem},
 * and stepped slices; consulted before Jinjava's own resolvers, which would call Java methods instead.
 */
final class PythonMethodResolver extends ELResolver {
    /** Context key under which {@link PreviousItemForTag} keeps the items of the innermost loop. */
    static final String LOOP_ITEMS = "__twinserve_loop_items__";
    /** Method name {@link TemplateSourceRewriter} writes for {@code x[a:b:c]}. */
    static final String SLICE_METHOD = "__slice__";

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        if (base instanceof ForLoop loop && ("previtem".equals(property) || "nextitem".equals(property))) {
            context.setPropertyResolved(true);
            Object items = JinjavaInterpreter.getCurrent() == null
                    ? null
                    : JinjavaInterpreter.getCurrent().getContext().get(LOOP_ITEMS);
            if (!(items instanceof List<?> list)) {
                return null;
            }
            int index = loop.getIndex0() + ("previtem".equals(property) ? -1 : 1);
            return index >= 0 && index < list.size() ? list.get(index) : null;
        }
        return null;
    }

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(method instanceof String name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result;
        if (name.equals(SLICE_METHOD) && (base instanceof String || base instanceof List<?>)) {
            result = slice(base, args);
        } else if (base instanceof String text) {
            result = stringMethod(text, name, args);
        } else if (base instanceof Map<?, ?> map) {
            result = mapMethod(map, name, args);
        } else {
            return null;
        }
        if (result == NOT_HANDLED) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    private static final Object NOT_HANDLED = new Object();

    private static Object stringMethod(String text, String name, Object[] args) {
        return switch (name) {
            case "startswith" -> anyOf(args[0], prefix -> text.startsWith(prefix));
            case "endswith" -> anyOf(args[0], suffix -> text.endsWith(suffix));
            case "strip" -> rstrip(lstrip(text, chars(args)), chars(args));
            case "lstrip" -> lstrip(text, chars(args));
            case "rstrip" -> rstrip(text, chars(args));
            case "split" ->
                split(
                        text,
                        args.length > 0 ? (String) args[0] : null,
                        args.length > 1 ? ((Number) args[1]).intValue() : -1);
            case "upper" -> text.toUpperCase(Locale.ROOT);
            case "lower" -> text.toLowerCase(Locale.ROOT);
            case "title" -> title(text);
            case "capitalize" ->
                text.isEmpty()
                        ? text
                        : text.substring(0, 1).toUpperCase(Locale.ROOT)
                                + text.substring(1).toLowerCase(Locale.ROOT);
            case "replace" ->
                replace(
                        text,
                        String.valueOf(args[0]),
                        String.valueOf(args[1]),
                        args.length > 2 ? ((Number) args[2]).intValue() : -1);
            case "find" -> (long) text.indexOf(String.valueOf(args[0]));
            case "count" ->
                (long) ((text.length()
                                - text.replace(String.valueOf(args[0]), "").length())
                        / Math.max(1, String.valueOf(args[0]).length()));
            case "join" -> join(text, args[0]);
            case "isdigit" -> !text.isEmpty() && text.chars().allMatch(Character::isDigit);
            default -> NOT_HANDLED;
        };
    }

    private static Object mapMethod(Map<?, ?> map, String name, Object[] args) {
        return switch (name) {
            case "items" -> {
                List<List<Object>> items = new ArrayList<>();
                map.forEach((key, value) -> items.add(Arrays.asList(key, value)));
                yield items;
            }
            case "keys" -> new ArrayList<>(map.keySet());
            case "values" -> new ArrayList<>(map.values());
            case "get" -> map.containsKey(args[0]) ? map.get(args[0]) : args.length > 1 ? args[1] : null;
            default -> NOT_HANDLED;
        };
    }

    private static boolean anyOf(Object candidates, Predicate<String> test) {
        if (candidates instanceof Collection<?> tuple) {
            for (Object candidate : tuple) {
                if (test.test(String.valueOf(candidate))) {
                    return true;
                }
            }
            return false;
        }
        return test.test(String.valueOf(candidates));
    }

    private static String chars(Object[] args) {
        return args.length > 0 && args[0] != null ? String.valueOf(args[0]) : null;
    }

    /** Python's strip family: whitespace when no characters are given, else any of the given characters. */
    private static boolean strippable(char c, String chars) {
        return chars == null ? Character.isWhitespace(c) || Character.isSpaceChar(c) : chars.indexOf(c) >= 0;
    }

    private static String lstrip(String text, String chars) {
        int start = 0;
        while (start < text.length() && strippable(text.charAt(start), chars)) {
            start++;
        }
        return text.substring(start);
    }

    private static String rstrip(String text, String chars) {
        int end = text.length();
        while (end > 0 && strippable(text.charAt(end - 1), chars)) {
            end--;
        }
        return text.substring(0, end);
    }

    /** Python's str.split: a literal separator, or runs of whitespace with empty ends dropped when none is given. */
    private static List<String> split(String text, String separator, int maxSplit) {
        List<String> parts = new ArrayList<>();
        if (separator == null) {
            for (String part : text.strip().split("\\s+", maxSplit < 0 ? 0 : maxSplit + 1)) {
                if (!part.isEmpty()) {
                    parts.add(part);
                }
            }
            return parts;
        }
        if (separator.isEmpty()) {
            throw new ChatTemplateException("empty separator in split()");
        }
        int start = 0;
        for (int at = text.indexOf(separator);
                at >= 0 && (maxSplit < 0 || parts.size() < maxSplit);
                at = text.indexOf(separator, start)) {
            parts.add(text.substring(start, at));
            start = at + separator.length();
        }
        parts.add(text.substring(start));
        return parts;
    }

    private static String replace(String text, String old, String replacement, int count) {
        int limit = count < 0 ? Integer.MAX_VALUE : count;
        StringBuilder out = new StringBuilder();
        int done = 0;
        if (old.isEmpty()) {
            // Python inserts the replacement before every character and at the end
            for (int i = 0; i <= text.length(); i++) {
                if (done++ < limit) {
                    ChatTemplate.checkStringLength(
                            (long) out.length() + replacement.length() + text.length() - i, "str.replace");
                    out.append(replacement);
                }
                if (i < text.length()) {
                    out.append(text.charAt(i));
                }
            }
            return out.toString();
        }
        int start = 0;
        for (int at = text.indexOf(old); at >= 0 && done < limit; at = text.indexOf(old, start), done++) {
            ChatTemplate.checkStringLength(
                    (long) out.length() + (at - start) + replacement.length() + text.length() - at - old.length(),
                    "str.replace");
            out.append(text, start, at).append(replacement);
            start = at + old.length();
        }
        return out.append(text, start, text.length()).toString();
    }

    private static String title(String text) {
        StringBuilder out = new StringBuilder(text.length());
        boolean previousLetter = false;
        for (char c : text.toCharArray()) {
            out.append(previousLetter ? Character.toLowerCase(c) : Character.toUpperCase(c));
            previousLetter = Character.isLetter(c);
        }
        return out.toString();
    }

    private static String join(String separator, Object items) {
        List<String> parts = new ArrayList<>();
        long chars = 0;
        if (items instanceof Iterable<?> iterable) {
            for (Object item : iterable) {
                String part = String.valueOf(item);
                chars += part.length() + (parts.isEmpty() ? 0 : separator.length());
                ChatTemplate.checkStringLength(chars, "str.join");
                parts.add(part);
            }
        }
        return String.join(separator, parts);
    }

    /** Python slicing with a step, e.g. {@code messages[::-1]}; null bounds mean "from the end that the step starts at". */
    private static Object slice(Object base, Object[] args) {
        List<?> list = base instanceof String text
                ? text.codePoints().mapToObj(Character::toString).toList()
                : (List<?>) base;
        int size = list.size();
        int step = args.length > 2 && args[2] != null ? ((Number) args[2]).intValue() : 1;
        if (step == 0) {
            throw new ChatTemplateException("slice step cannot be zero");
        }
        int start = bound(args.length > 0 ? args[0] : null, size, step, step > 0 ? 0 : size - 1);
        int stop = bound(args.length > 1 ? args[1] : null, size, step, step > 0 ? size : -1);
        List<Object> result = new ArrayList<>();
        for (int i = start; step > 0 ? i < stop : i > stop; i += step) {
            result.add(list.get(i));
        }
        if (base instanceof String) {
            StringBuilder text = new StringBuilder();
            result.forEach(text::append);
            return text.toString();
        }
        return result;
    }

    private static int bound(Object value, int size, int step, int fallback) {
        if (value == null) {
            return fallback;
        }
        int index = ((Number) value).intValue();
        if (index < 0) {
            index += size;
        }
        return step > 0 ? Math.max(0, Math.min(index, size)) : Math.max(-1, Math.min(index, size - 1));
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // read-only: assignments go to Jinjava's resolvers
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return false;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return null;
    }
}
