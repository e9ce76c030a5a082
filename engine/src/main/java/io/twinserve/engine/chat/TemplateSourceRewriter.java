package io.twinserve.engine.chat;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;

/**
 * Rewrites the two pieces of Jinja syntax that Jinjava's expression parser reads differently, inside
 * {@code {{ }}} and {@code {% %}} only: stepped slices {@code x[a:b:c]} become
 * {@code x.__slice__(a, b, c)}, and keyword arguments {@code f(k=a - 1)} get parentheses
 * {@code f(k=(a - 1))} because Jinjava binds {@code k=a} before the operator.
 */
final class TemplateSourceRewriter {

    private TemplateSourceRewriter() {}

    static String rewrite(String template) {
        StringBuilder out = new StringBuilder(template.length() + 16);
        int i = 0;
        while (i < template.length()) {
            int open = nextOpening(template, i);
            if (open < 0) {
                out.append(template, i, template.length());
                break;
            }
            String closing = template.charAt(open + 1) == '{' ? "}}" : "%}";
            int close = closingOf(template, open + 2, closing);
            if (close < 0) {
                out.append(template, i, template.length());
                break;
            }
            out.append(template, i, open + 2);
            out.append(rewriteExpression(template.substring(open + 2, close)));
            out.append(closing);
            i = close + 2;
        }
        return out.toString();
    }

    private static int nextOpening(String template, int from) {
        int expression = template.indexOf("{{", from);
        int statement = template.indexOf("{%", from);
        if (expression < 0) {
            return statement;
        }
        return statement < 0 ? expression : Math.min(expression, statement);
    }

    /** The closing delimiter's position, skipping string literals that might contain it. */
    private static int closingOf(String template, int from, String closing) {
        for (int i = from; i < template.length() - 1; i++) {
            char c = template.charAt(i);
            if (c == '\'' || c == '"') {
                i = endOfString(template, i);
            } else if (template.startsWith(closing, i)) {
                return i;
            }
        }
        return -1;
    }

    private static int endOfString(String text, int quoteAt) {
        char quote = text.charAt(quoteAt);
        for (int i = quoteAt + 1; i < text.length(); i++) {
            if (text.charAt(i) == '\\') {
                i++;
            } else if (text.charAt(i) == quote) {
                return i;
            }
        }
        return text.length() - 1;
    }

    static String rewriteExpression(String expression) {
        StringBuilder out = new StringBuilder(expression.length() + 8);
        // One entry per open bracket: whether a keyword argument's value is waiting for its ')'.
        Deque<boolean[]> frames = new ArrayDeque<>();
        Deque<Character> openers = new ArrayDeque<>();
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (c == '\'' || c == '"') {
                int end = endOfString(expression, i);
                out.append(expression, i, end + 1);
                i = end;
            } else if (c == '[' && isSubscript(out)) {
                int end = matching(expression, i);
                String[] parts = topLevelSplit(expression.substring(i + 1, end), ':');
                if (parts.length == 3) {
                    out.append('.')
                            .append(PythonMethodResolver.SLICE_METHOD)
                            .append('(')
                            .append(orNone(parts[0]))
                            .append(", ")
                            .append(orNone(parts[1]))
                            .append(", ")
                            .append(orNone(parts[2]))
                            .append(')');
                    i = end;
                } else {
                    frames.push(new boolean[1]);
                    openers.push(c);
                    out.append(c);
                }
            } else if (c == '(' || c == '[' || c == '{') {
                frames.push(new boolean[1]);
                openers.push(c);
                out.append(c);
            } else if (c == ')' || c == ']' || c == '}') {
                if (!frames.isEmpty()) {
                    if (frames.pop()[0]) {
                        out.append(')');
                    }
                    openers.pop();
                }
                out.append(c);
            } else if (c == ',' && !frames.isEmpty() && frames.peek()[0]) {
                out.append("),");
                frames.peek()[0] = false;
            } else if (c == '=' && !openers.isEmpty() && openers.peek() == '(' && isKeywordEquals(expression, i, out)) {
                out.append("=(");
                frames.peek()[0] = true;
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }

    private static String orNone(String part) {
        String trimmed = rewriteExpression(part).strip();
        return trimmed.isEmpty() ? "none" : trimmed;
    }

    /** A '[' right after a name, ')', ']' or a string literal indexes or slices; elsewhere it starts a list literal. */
    private static boolean isSubscript(StringBuilder before) {
        int i = before.length() - 1;
        if (i < 0) {
            return false;
        }
        char c = before.charAt(i);
        return Character.isLetterOrDigit(c) || c == '_' || c == ')' || c == ']' || c == '\'' || c == '"';
    }

    /** '=' of a keyword argument: not '==', '!=', '<=', '>=', and preceded by a name that follows '(' or ','. */
    private static boolean isKeywordEquals(String expression, int at, StringBuilder before) {
        if (at + 1 < expression.length() && expression.charAt(at + 1) == '=') {
            return false;
        }
        int i = before.length() - 1;
        while (i >= 0 && before.charAt(i) == ' ') {
            i--;
        }
        if (i < 0 || "=!<>".indexOf(before.charAt(i)) >= 0) {
            return false;
        }
        int nameEnd = i;
        while (i >= 0 && (Character.isLetterOrDigit(before.charAt(i)) || before.charAt(i) == '_')) {
            i--;
        }
        if (i == nameEnd) {
            return false;
        }
        while (i >= 0 && before.charAt(i) == ' ') {
            i--;
        }
        return i >= 0 && (before.charAt(i) == '(' || before.charAt(i) == ',');
    }

    private static int matching(String expression, int openAt) {
        int depth = 0;
        for (int i = openAt; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (c == '\'' || c == '"') {
                i = endOfString(expression, i);
            } else if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if ((c == ']' || c == ')' || c == '}') && --depth == 0) {
                return i;
            }
        }
        return expression.length() - 1;
    }

    private static String[] topLevelSplit(String text, char separator) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int start = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\'' || c == '"') {
                i = endOfString(text, i);
            } else if (c == '[' || c == '(' || c == '{') {
                depth++;
            } else if (c == ']' || c == ')' || c == '}') {
                depth--;
            } else if (c == separator && depth == 0) {
                parts.add(text.substring(start, i));
                start = i + 1;
            }
        }
        parts.add(text.substring(start));
        return parts.toArray(String[]::new);
    }
}
