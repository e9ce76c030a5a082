package io.twinserve.engine.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The BPE model of a {@code tokenizer.json}: turns one pre-tokenized word into token ids by applying
 * merges in rank order, with a bounded cache of words already seen.
 */
final class BytePairModel {
    /** Hugging Face caches up to 10,000 words; long words are rare and not worth keeping. */
    private static final int CACHE_CAPACITY = 10_000;

    private static final int CACHE_MAX_WORD_LENGTH = 256;

    private final Map<String, Integer> vocab;
    private final PairTable merges;
    private final int[] smallCharIds;
    private final int[] byteFallbackIds;
    private final int unknownId;
    private final boolean fuseUnknown;
    private final boolean ignoreMerges;
    private final ConcurrentHashMap<String, int[]> cache = new ConcurrentHashMap<>();

    /**
     * @param byteFallbackIds id of each {@code <0xNN>} token, or null when the model has no byte fallback
     * @param unknownId id of the unknown token, or -1 when the model has none
     */
    BytePairModel(
            Map<String, Integer> vocab,
            PairTable merges,
            int[] byteFallbackIds,
            int unknownId,
            boolean fuseUnknown,
            boolean ignoreMerges) {
        this.vocab = vocab;
        this.merges = merges;
        this.byteFallbackIds = byteFallbackIds;
        this.unknownId = unknownId;
        this.fuseUnknown = fuseUnknown;
        this.ignoreMerges = ignoreMerges;
        // Byte-level alphabets live below U+0200, so single characters there are looked up by index.
        smallCharIds = new int[0x200];
        Arrays.fill(smallCharIds, -1);
        for (char c = 0; c < smallCharIds.length; c++) {
            Integer id = vocab.get(String.valueOf(c));
            if (id != null) {
                smallCharIds[c] = id;
            }
        }
    }

    /** Appends the ids of one word (already normalized and pre-tokenized) to the buffer. */
    void encodeWord(String word, IdBuffer out) {
        if (word.isEmpty()) {
            return;
        }
        boolean cacheable = word.length() <= CACHE_MAX_WORD_LENGTH;
        if (cacheable) {
            int[] cached = cache.get(word);
            if (cached != null) {
                out.addAll(cached);
                return;
            }
        }
        int[] ids = encodeUncached(word);
        if (cacheable) {
            if (cache.size() >= CACHE_CAPACITY) {
                // Clearing is cheaper than LRU bookkeeping and keeps memory bounded on adversarial input.
                cache.clear();
            }
            cache.put(word, ids);
        }
        out.addAll(ids);
    }

    private int[] encodeUncached(String word) {
        if (ignoreMerges) {
            Integer whole = vocab.get(word);
            if (whole != null) {
                return new int[] {whole};
            }
        }
        int[] symbols = initialSymbols(word);
        return merge(symbols);
    }

    /** One symbol per character, with byte fallback or the unknown token for characters outside the vocabulary. */
    private int[] initialSymbols(String word) {
        IdBuffer symbols = new IdBuffer(word.length());
        boolean previousUnknown = false;
        for (int i = 0; i < word.length(); ) {
            int codePoint = word.codePointAt(i);
            int charCount = Character.charCount(codePoint);
            int id = codePoint < smallCharIds.length ? smallCharIds[codePoint] : -1;
            if (id < 0 && codePoint >= smallCharIds.length) {
                Integer found = vocab.get(word.substring(i, i + charCount));
                id = found == null ? -1 : found;
            }
            i += charCount;
            if (id >= 0) {
                symbols.add(id);
                previousUnknown = false;
            } else if (byteFallbackIds != null) {
                for (byte b : new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8)) {
                    symbols.add(byteFallbackIds[b & 0xFF]);
                }
                previousUnknown = false;
            } else if (unknownId >= 0) {
                if (!(fuseUnknown && previousUnknown)) {
                    symbols.add(unknownId);
                }
                previousUnknown = true;
            } else {
                throw new IllegalArgumentException(
                        "character U+" + Integer.toHexString(codePoint).toUpperCase()
                                + " is not in the vocabulary and the model has neither byte_fallback nor unk_token");
            }
        }
        return symbols.toArray();
    }

    /**
     * Applies merges lowest rank first, leftmost first among equal ranks, as Hugging Face's BPE does: a
     * linked list of symbols and a heap of candidate pairs keep each merge O(log n).
     */
    private int[] merge(int[] symbols) {
        int n = symbols.length;
        if (n < 2) {
            return symbols;
        }
        int[] next = new int[n];
        int[] previous = new int[n];
        // Heap entries pack (rank << 32 | position) so the natural long order is the merge order.
        long[] heap = new long[3 * n];
        int heapSize = 0;
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            previous[i] = i - 1;
            if (i + 1 < n) {
                int rank = merges.rank(symbols[i], symbols[i + 1]);
                if (rank >= 0) {
                    heapSize = push(heap, heapSize, ((long) rank << 32) | i);
                }
            }
        }
        int alive = n;
        while (heapSize > 0) {
            long top = heap[0];
            heapSize = pop(heap, heapSize);
            int rank = (int) (top >>> 32);
            int left = (int) top;
            int right = next[left];
            if (symbols[left] < 0 || right < 0 || merges.rank(symbols[left], symbols[right]) != rank) {
                continue; // stale: one side was merged away since this pair was queued
            }
            symbols[left] = merges.mergedId(symbols[left], symbols[right]);
            symbols[right] = -1;
            alive--;
            next[left] = next[right];
            if (next[right] >= 0) {
                previous[next[right]] = left;
            }
            if (previous[left] >= 0) {
                int before = merges.rank(symbols[previous[left]], symbols[left]);
                if (before >= 0) {
                    heapSize = push(heap, heapSize, ((long) before << 32) | previous[left]);
                }
            }
            if (next[left] >= 0) {
                int after = merges.rank(symbols[left], symbols[next[left]]);
                if (after >= 0) {
                    heapSize = push(heap, heapSize, ((long) after << 32) | left);
                }
            }
        }
        int[] result = new int[alive];
        for (int i = 0, k = 0; i >= 0 && k < alive; i = next[i]) {
            result[k++] = symbols[i];
        }
        return result;
    }

    private static int push(long[] heap, int size, long value) {
        int i = size;
        heap[i] = value;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (heap[parent] <= heap[i]) {
                break;
            }
            long swap = heap[parent];
            heap[parent] = heap[i];
            heap[i] = swap;
            i = parent;
        }
        return size + 1;
    }

    private static int pop(long[] heap, int size) {
        int last = size - 1;
        heap[0] = heap[last];
        int i = 0;
        while (true) {
            int child = 2 * i + 1;
            if (child >= last) {
                break;
            }
            if (child + 1 < last && heap[child + 1] < heap[child]) {
                child++;
            }
            if (heap[i] <= heap[child]) {
                break;
            }
            long swap = heap[child];
            heap[child] = heap[i];
            heap[i] = swap;
            i = child;
        }
        return last;
    }
}
