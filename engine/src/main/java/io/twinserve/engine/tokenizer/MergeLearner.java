package io.twinserve.engine.tokenizer;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Learns byte-level BPE merges from a text, most frequent adjacent pair first with ties broken by the
 * pair's ids, so the same text and size always give the same vocabulary.
 */
final class MergeLearner {
    /** The learned vocabulary (256 byte tokens first, in GPT-2 order) and merges as pairs of token strings. */
    record Learned(List<String> vocabulary, List<String[]> merges) {}

    private MergeLearner() {}

    static Learned learn(String text, Pattern preTokenizer, int vocabularySize) {
        List<String> vocabulary = new ArrayList<>();
        Map<String, Integer> ids = new HashMap<>();
        for (int rank = 0; rank < 256; rank++) {
            String token = String.valueOf(ByteLevelAlphabet.charOf(ByteLevelAlphabet.byteAtRank(rank)));
            ids.put(token, vocabulary.size());
            vocabulary.add(token);
        }
        // Word types with their counts, sorted so the learning order never depends on hashing.
        Map<String, Integer> wordCounts = new TreeMap<>();
        List<String> pieces = new ArrayList<>();
        new PreTokenizer.Split(preTokenizer, PreTokenizer.Behavior.ISOLATED, false).split(text, true, pieces);
        for (String piece : pieces) {
            wordCounts.merge(ByteLevelAlphabet.encode(piece), 1, Integer::sum);
        }
        List<int[]> words = new ArrayList<>();
        int[] counts = new int[wordCounts.size()];
        for (Map.Entry<String, Integer> entry : wordCounts.entrySet()) {
            String word = entry.getKey();
            int[] symbols = new int[word.length()];
            for (int i = 0; i < word.length(); i++) {
                symbols[i] = ids.get(String.valueOf(word.charAt(i)));
            }
            counts[words.size()] = entry.getValue();
            words.add(symbols);
        }
        Map<Long, Integer> pairCounts = new HashMap<>();
        for (int w = 0; w < words.size(); w++) {
            addPairs(words.get(w), counts[w], pairCounts);
        }
        List<String[]> merges = new ArrayList<>();
        while (vocabulary.size() < vocabularySize) {
            long best = -1;
            int bestCount = 0;
            for (Map.Entry<Long, Integer> entry : pairCounts.entrySet()) {
                int count = entry.getValue();
                if (count > bestCount || (count == bestCount && count > 0 && entry.getKey() < best)) {
                    best = entry.getKey();
                    bestCount = count;
                }
            }
            if (bestCount == 0) {
                break; // every word is a single token: the text has nothing left to teach
            }
            int left = (int) (best >>> 32);
            int right = (int) best;
            String merged = vocabulary.get(left) + vocabulary.get(right);
            Integer mergedId = ids.get(merged);
            if (mergedId == null) {
                mergedId = vocabulary.size();
                ids.put(merged, mergedId);
                vocabulary.add(merged);
            }
            merges.add(new String[] {vocabulary.get(left), vocabulary.get(right)});
            for (int w = 0; w < words.size(); w++) {
                int[] word = words.get(w);
                if (contains(word, left, right)) {
                    addPairs(word, -counts[w], pairCounts);
                    int[] replaced = replace(word, left, right, mergedId);
                    words.set(w, replaced);
                    addPairs(replaced, counts[w], pairCounts);
                }
            }
            pairCounts.values().removeIf(count -> count <= 0);
        }
        return new Learned(vocabulary, merges);
    }

    private static void addPairs(int[] word, int count, Map<Long, Integer> pairCounts) {
        for (int i = 0; i + 1 < word.length; i++) {
            pairCounts.merge(((long) word[i] << 32) | word[i + 1], count, Integer::sum);
        }
    }

    private static boolean contains(int[] word, int left, int right) {
        for (int i = 0; i + 1 < word.length; i++) {
            if (word[i] == left && word[i + 1] == right) {
                return true;
            }
        }
        return false;
    }

    private static int[] replace(int[] word, int left, int right, int merged) {
        IdBuffer out = new IdBuffer(word.length);
        for (int i = 0; i < word.length; i++) {
            if (i + 1 < word.length && word[i] == left && word[i + 1] == right) {
                out.add(merged);
                i++;
            } else {
                out.add(word[i]);
            }
        }
        return out.toArray();
    }
}
