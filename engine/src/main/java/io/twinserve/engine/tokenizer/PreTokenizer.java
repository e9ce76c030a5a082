package io.twinserve.engine.tokenizer;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** A {@code pre_tokenizer} of {@code tokenizer.json}: cuts normalized text into the words BPE sees. */
sealed interface PreTokenizer {

    /**
     * Appends the pieces of one piece of text.
     *
     * @param firstSection whether the text starts the input (not after an added token), for Metaspace's "first" scheme
     */
    void split(String text, boolean firstSection, List<String> out);

    /** How a {@code Split} pre-tokenizer treats the matches of its pattern (Hugging Face's SplitDelimiterBehavior). */
    enum Behavior {
        ISOLATED,
        REMOVED,
        MERGED_WITH_PREVIOUS,
        MERGED_WITH_NEXT,
        CONTIGUOUS
    }

    record Split(Pattern pattern, Behavior behavior, boolean invert) implements PreTokenizer {
        @Override
        public void split(String text, boolean firstSection, List<String> out) {
            Matcher matcher = pattern.matcher(text);
            if (behavior == Behavior.ISOLATED && !invert) {
                // The hot path of byte-level tokenizers: matches and the gaps between them, in order.
                int end = 0;
                while (matcher.find()) {
                    if (matcher.start() > end) {
                        out.add(text.substring(end, matcher.start()));
                    }
                    if (matcher.end() > matcher.start()) {
                        out.add(text.substring(matcher.start(), matcher.end()));
                    }
                    end = matcher.end();
                }
                if (end < text.length()) {
                    out.add(text.substring(end));
                }
                return;
            }
            List<int[]> spans = new ArrayList<>(); // {start, end, isDelimiter}
            int end = 0;
            while (matcher.find()) {
                if (matcher.start() > end) {
                    spans.add(new int[] {end, matcher.start(), invert ? 1 : 0});
                }
                if (matcher.end() > matcher.start()) {
                    spans.add(new int[] {matcher.start(), matcher.end(), invert ? 0 : 1});
                }
                end = matcher.end();
            }
            if (end < text.length()) {
                spans.add(new int[] {end, text.length(), invert ? 1 : 0});
            }
            emit(text, spans, out);
        }

        private void emit(String text, List<int[]> spans, List<String> out) {
            StringBuilder pending = new StringBuilder();
            boolean previousDelimiter = false;
            for (int[] span : spans) {
                String piece = text.substring(span[0], span[1]);
                boolean delimiter = span[2] == 1;
                switch (behavior) {
                    case ISOLATED -> out.add(piece);
                    case REMOVED -> {
                        if (!delimiter) {
                            out.add(piece);
                        }
                    }
                    case MERGED_WITH_PREVIOUS -> {
                        if (delimiter && !out.isEmpty() && !previousDelimiter) {
                            out.set(out.size() - 1, out.get(out.size() - 1) + piece);
                        } else {
                            out.add(piece);
                        }
                    }
                    case MERGED_WITH_NEXT -> {
                        if (delimiter) {
                            pending.append(piece);
                        } else {
                            out.add(pending + piece);
                            pending.setLength(0);
                        }
                    }
                    case CONTIGUOUS -> {
                        if (delimiter && previousDelimiter && !out.isEmpty()) {
                            out.set(out.size() - 1, out.get(out.size() - 1) + piece);
                        } else {
                            out.add(piece);
                        }
                    }
                }
                previousDelimiter = delimiter;
            }
            if (!pending.isEmpty()) {
                out.add(pending.toString());
            }
        }
    }

    /** Maps each piece's UTF-8 bytes onto GPT-2's byte alphabet, optionally splitting with GPT-2's own regex first. */
    record ByteLevel(boolean addPrefixSpace, Pattern gpt2Pattern) implements PreTokenizer {
        /** Source: openai/gpt-2 encoder.py, as used by Hugging Face's ByteLevel pre-tokenizer when use_regex is true. */
        static final String GPT2_REGEX =
                "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

        @Override
        public void split(String text, boolean firstSection, List<String> out) {
            String prefixed = addPrefixSpace && !text.startsWith(" ") ? " " + text : text;
            if (gpt2Pattern == null) {
                out.add(ByteLevelAlphabet.encode(prefixed));
                return;
            }
            List<String> pieces = new ArrayList<>();
            new Split(gpt2Pattern, Behavior.ISOLATED, false).split(prefixed, firstSection, pieces);
            for (String piece : pieces) {
                out.add(ByteLevelAlphabet.encode(piece));
            }
        }
    }

    /** Sentencepiece's space handling: spaces become a visible marker that starts each word. */
    record Metaspace(String replacement, String prependScheme, boolean splitWords) implements PreTokenizer {
        @Override
        public void split(String text, boolean firstSection, List<String> out) {
            String replaced = text.replace(" ", replacement);
            boolean prepend = switch (prependScheme) {
                case "always" -> true;
                case "first" -> firstSection;
                default -> false;
            };
            if (prepend && !replaced.startsWith(replacement)) {
                replaced = replacement + replaced;
            }
            if (!splitWords) {
                out.add(replaced);
                return;
            }
            int start = 0;
            for (int i = replaced.indexOf(replacement, 1); i > 0; i = replaced.indexOf(replacement, i + 1)) {
                out.add(replaced.substring(start, i));
                start = i;
            }
            if (start < replaced.length()) {
                out.add(replaced.substring(start));
            }
        }
    }

    record Sequence(List<PreTokenizer> preTokenizers) implements PreTokenizer {
        public Sequence {
            preTokenizers = List.copyOf(preTokenizers);
        }

        @Override
        public void split(String text, boolean firstSection, List<String> out) {
            List<String> pieces = List.of(text);
            for (PreTokenizer preTokenizer : preTokenizers) {
                List<String> next = new ArrayList<>(pieces.size() * 2);
                for (String piece : pieces) {
                    preTokenizer.split(piece, firstSection, next);
                }
                pieces = next;
            }
            out.addAll(pieces);
        }
    }
}
