package io.twinserve.engine.tokenizer;

import java.text.Normalizer;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@code normalizer} of {@code tokenizer.json}, applied to the text between added tokens before pre-tokenizing. */
sealed interface TextNormalizer {

    String apply(String text);

    /** NFC, NFD, NFKC or NFKD. */
    record UnicodeForm(Normalizer.Form form) implements TextNormalizer {
        @Override
        public String apply(String text) {
            // Most text is already normalized; the check avoids a copy.
            return Normalizer.isNormalized(text, form) ? text : Normalizer.normalize(text, form);
        }
    }

    record Lowercase() implements TextNormalizer {
        @Override
        public String apply(String text) {
            return text.toLowerCase(Locale.ROOT);
        }
    }

    /** Prepends a string to non-empty text (sentencepiece-style tokenizers prepend "▁"). */
    record Prepend(String prefix) implements TextNormalizer {
        @Override
        public String apply(String text) {
            return text.isEmpty() ? text : prefix + text;
        }
    }

    /** Replaces every match of a literal or regex pattern. */
    record Replace(Pattern pattern, String content) implements TextNormalizer {
        @Override
        public String apply(String text) {
            return pattern.matcher(text).replaceAll(Matcher.quoteReplacement(content));
        }
    }

    record Sequence(List<TextNormalizer> normalizers) implements TextNormalizer {
        public Sequence {
            normalizers = List.copyOf(normalizers);
        }

        @Override
        public String apply(String text) {
            String result = text;
            for (TextNormalizer normalizer : normalizers) {
                result = normalizer.apply(result);
            }
            return result;
        }
    }
}
