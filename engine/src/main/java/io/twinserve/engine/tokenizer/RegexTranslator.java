package io.twinserve.engine.tokenizer;

import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * Translates the Oniguruma/Rust regular expressions of {@code tokenizer.json} pre-tokenizers into
 * {@link java.util.regex} patterns with the same Unicode meaning.
 */
final class RegexTranslator {
    // Rust's and Oniguruma's \s is Unicode White_Space; Java's default \s is ASCII only.
    private static final String WHITE_SPACE = "\\p{IsWhite_Space}";
    private static final String NOT_WHITE_SPACE = "\\P{IsWhite_Space}";
    // Unicode \w of UTS #18 (what Rust uses): letters, marks, decimal digits, connector punctuation, joiners.
    private static final String WORD = "\\p{IsAlphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{IsJoin_Control}";

    private RegexTranslator() {}

    static Pattern compile(String source) {
        return Pattern.compile(translate(source));
    }

    static String translate(String source) {
        StringBuilder out = new StringBuilder(source.length() + 32);
        boolean inClass = false;
        for (int i = 0; i < source.length(); i++) {
            char c = source.charAt(i);
            if (c == '\\' && i + 1 < source.length()) {
                char next = source.charAt(i + 1);
                i++;
                switch (next) {
                    case 's' -> out.append(WHITE_SPACE);
                    case 'S' -> out.append(NOT_WHITE_SPACE);
                    case 'd' -> out.append("\\p{Nd}");
                    case 'D' -> out.append("\\P{Nd}");
                    case 'w' -> out.append(inClass ? WORD : "[" + WORD + "]");
                    case 'W' -> out.append(inClass ? "[^" + WORD + "]" : "[^" + WORD + "]");
                    case 'p', 'P' -> i = appendProperty(source, i, next, out);
                    default -> out.append('\\').append(next);
                }
                continue;
            }
            if (inClass) {
                if (c == ']') {
                    inClass = false;
                    out.append(c);
                } else if (c == '[') {
                    // Java treats '[' inside a class as a nested union; Rust and Oniguruma patterns here mean the
                    // character.
                    out.append("\\[");
                } else if (c == '&' && i + 1 < source.length() && source.charAt(i + 1) == '&') {
                    // "&&" is intersection in Java only.
                    out.append("&\\&");
                    i++;
                } else {
                    out.append(c);
                }
                continue;
            }
            if (c == '[') {
                inClass = true;
                out.append(c);
                // A ']' right after '[' or '[^' is a literal in all three dialects.
                if (i + 1 < source.length() && source.charAt(i + 1) == '^') {
                    out.append('^');
                    i++;
                }
                if (i + 1 < source.length() && source.charAt(i + 1) == ']') {
                    out.append("\\]");
                    i++;
                }
            } else if (c == '('
                    && source.startsWith("(?i", i)
                    && i + 3 < source.length()
                    && (source.charAt(i + 3) == ':' || source.charAt(i + 3) == ')')) {
                // Case-insensitivity in Rust and Oniguruma folds Unicode case, Java's only ASCII unless asked.
                out.append("(?iu");
                i += 2;
            } else {
                out.append(c);
            }
        }
        String translated = out.toString();
        try {
            Pattern.compile(translated);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(
                    "cannot translate regex " + source + " to Java: " + e.getDescription(), e);
        }
        return translated;
    }

    /** Copies {@code \p{Name}}, adding Java's "Is" prefix to script and binary property names. */
    private static int appendProperty(String source, int letterIndex, char letter, StringBuilder out) {
        int open = letterIndex + 1;
        if (open >= source.length() || source.charAt(open) != '{') {
            // One-letter form such as \pL.
            out.append('\\').append(letter).append(source.charAt(open));
            return open;
        }
        int close = source.indexOf('}', open);
        String name = source.substring(open + 1, close);
        boolean negated = name.startsWith("^");
        if (negated) {
            name = name.substring(1);
        }
        char javaLetter = negated ? (letter == 'p' ? 'P' : 'p') : letter;
        boolean generalCategory =
                name.length() <= 2 || name.contains("=") || name.startsWith("Is") || name.startsWith("In");
        out.append('\\')
                .append(javaLetter)
                .append('{')
                .append(generalCategory ? name : "Is" + name)
                .append('}');
        return close;
    }
}
