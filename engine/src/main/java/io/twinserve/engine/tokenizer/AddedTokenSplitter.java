package io.twinserve.engine.tokenizer;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Cuts text into plain sections and added tokens, leftmost match first and the longest token at a
 * position, like Hugging Face's added-vocabulary matcher.
 */
final class AddedTokenSplitter {
    /** A plain section (tokenId -1) or an added token (text null). */
    record Section(String text, int tokenId) {}

    private final Map<Character, List<AddedToken>> byFirstChar = new HashMap<>();
    private final boolean[] isFirstChar = new boolean[65536];

    AddedTokenSplitter(List<AddedToken> tokens) {
        for (AddedToken token : tokens) {
            char first = token.content().charAt(0);
            isFirstChar[first] = true;
            byFirstChar.computeIfAbsent(first, c -> new ArrayList<>()).add(token);
        }
        for (List<AddedToken> candidates : byFirstChar.values()) {
            candidates.sort(
                    Comparator.comparingInt((AddedToken t) -> t.content().length())
                            .reversed());
        }
    }

    List<Section> split(String text) {
        List<Section> sections = new ArrayList<>(4);
        int plainStart = 0;
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            AddedToken match = isFirstChar[c] ? matchAt(text, i) : null;
            if (match == null) {
                i++;
                continue;
            }
            int start = i;
            int end = i + match.content().length();
            if (match.leftStrip()) {
                while (start > plainStart && Character.isWhitespace(text.charAt(start - 1))) {
                    start--;
                }
            }
            if (match.rightStrip()) {
                while (end < text.length() && Character.isWhitespace(text.charAt(end))) {
                    end++;
                }
            }
            if (start > plainStart) {
                sections.add(new Section(text.substring(plainStart, start), -1));
            }
            sections.add(new Section(null, match.id()));
            plainStart = end;
            i = end;
        }
        if (plainStart < text.length()) {
            sections.add(new Section(text.substring(plainStart), -1));
        }
        return sections;
    }

    private AddedToken matchAt(String text, int position) {
        for (AddedToken candidate : byFirstChar.get(text.charAt(position))) {
            if (text.startsWith(candidate.content(), position)
                    && (!candidate.singleWord()
                            || isWholeWord(
                                    text,
                                    position,
                                    position + candidate.content().length()))) {
                return candidate;
            }
        }
        return null;
    }

    private static boolean isWholeWord(String text, int start, int end) {
        boolean leftBoundary = start == 0 || !isWordChar(text.codePointBefore(start));
        boolean rightBoundary = end == text.length() || !isWordChar(text.codePointAt(end));
        return leftBoundary && rightBoundary;
    }

    private static boolean isWordChar(int codePoint) {
        return Character.isLetterOrDigit(codePoint) || codePoint == '_';
    }
}
