package io.twinserve.engine.tokenizer;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A {@code normalizer} of {@code tokenizer.json}, applied to the text between added tokens before pre-tokenizing.
 * Each is given a length the text it returns must not pass ({@link TooLong} otherwise): real normalizers lengthen
 * text by a few characters at most (NFKD by up to 18 per character), while a file whose replacements feed each
 * other (a space replaced by a hundred spaces, five times over) would grow it past any memory.
 */
sealed interface TextNormalizer {

    String apply(String text, long limit);

    /** The normalized text would pass {@code limit} characters. */
    final class TooLong extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TooLong(long limit) {
            super("longer than " + limit + " characters", null, false, false);
        }
    }

    private static String within(String text, long limit) {
        if (text.length() > limit) {
            throw new TooLong(limit);
        }
        return text;
    }

    /** NFC, NFD, NFKC or NFKD. */
    record UnicodeForm(Normalizer.Form form) implements TextNormalizer {
        @Override
        public String apply(String text, long limit) {
            // Most text is already normalized; the check avoids a copy.
            return within(Normalizer.isNormalized(text, form) ? text : Normalizer.normalize(text, form), limit);
        }
    }

    record Lowercase() implements TextNormalizer {
        @Override
        public String apply(String text, long limit) {
            return within(text.toLowerCase(Locale.ROOT), limit);
        }
    }

    /** Prepends a string to non-empty text (sentencepiece-style tokenizers prepend "▁"). */
    record Prepend(String prefix) implements TextNormalizer {
        @Override
        public String apply(String text, long limit) {
            if (text.isEmpty()) {
                return text;
            }
            if ((long) prefix.length() + text.length() > limit) {
                throw new TooLong(limit);
            }
            return prefix + text;
        }
    }

    /** Replaces every match of a literal or regex pattern. */
    record Replace(Pattern pattern, String content) implements TextNormalizer {
        @Override
        public String apply(String text, long limit) {
            // Matcher.replaceAll, with the length checked as the result grows
            Matcher m = pattern.matcher(text);
            StringBuilder out = null;
            int last = 0;
            while (m.find()) {
                if (out == null) {
                    out = new StringBuilder(text.length() + 16);
                }
                out.append(text, last, m.start()).append(content);
                last = m.end();
                if (out.length() > limit) {
                    throw new TooLong(limit);
                }
            }
            if (out == null) {
                return text;
            }
            out.append(text, last, text.length());
            return within(out.toString(), limit);
        }
    }

    record Sequence(List<TextNormalizer> normalizers) implements TextNormalizer {
        public Sequence {
            normalizers = List.copyOf(normalizers);
        }

        @Override
        public String apply(String text, long limit) {
            String result = text;
            for (TextNormalizer normalizer : normalizers) {
                result = normalizer.apply(result, limit);
            }
            return result;
        }
    }
}
