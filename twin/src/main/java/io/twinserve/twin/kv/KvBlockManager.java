package io.twinserve.twin.kv;

import java.util.Arrays;

/**
 * A paged KV cache of fixed-size blocks with prefix reuse, as vLLM's block pool works.
 *
 * <p>A block holds {@code blockSize} tokens. Full blocks are registered under their chained hash (every block
 * computed for a hash, the first serving it); a later sequence whose prompt starts with the same hashes reuses
 * them instead of recomputing. Unreferenced blocks stay cached in an LRU free list: allocation takes the least recently
 * freed block and forgets its hash. As in vLLM 0.8.5's block pool, every freed block goes to the list's tail,
 * hashed or not, a sequence's last block first (so that a prompt's tail is evicted before its head). All state
 * is primitive arrays indexed by block id; nothing is allocated per token.
 *
 * <p>Over 400 lines because the free list, the hash index with its blocks of one key, the counting mode and the
 * consistency check all work on one set of arrays indexed by block id, and a sequence's {@link BlockTable} lives
 * here beside them.
 */
public final class KvBlockManager {
    private static final int NONE = -1;

    private final int blockSize;
    private final int numBlocks;
    private final boolean prefixCaching;
    // no block ids: without prefix caching blocks are interchangeable, so a simulation that never asks which
    // block holds what (the twin) needs only their counts; allocate and free are then O(1) per sequence
    private final boolean counting;
    private final int[] refCount;
    private final long[] hash;
    private final boolean[] hashed;
    // blocks of one hash in the order they were registered, from the one the index maps the hash to (vLLM keeps
    // every block computed for a key and serves the first; the next takes over when it is evicted), doubly linked,
    // the first also knowing the last, so that registering and evicting one are O(1) however many share the hash
    private final int[] sameHashNext;
    private final int[] sameHashPrev;
    private final int[] sameHashLast;
    // doubly linked LRU list of free (unreferenced) blocks: head is evicted first
    private final int[] prev;
    private final int[] next;
    private int head = NONE;
    private int tail = NONE;
    private int freeCount;
    private final LongIntMap cached;

    public KvBlockManager(long kvCacheTokens, int blockSize, boolean prefixCaching) {
        this(kvCacheTokens, blockSize, prefixCaching, false);
    }

    /**
     * A cache that keeps only block counts, for a simulation without prefix caching: every result is what
     * the block-id cache gives (with prefix caching off no block is ever told from another), but sequences'
     * tables hold no ids ({@link BlockTable#get} refuses).
     */
    public static KvBlockManager counting(long kvCacheTokens, int blockSize) {
        return new KvBlockManager(kvCacheTokens, blockSize, false, true);
    }

    private KvBlockManager(long kvCacheTokens, int blockSize, boolean prefixCaching, boolean counting) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("block_size must be >= 1, got " + blockSize);
        }
        long blocks = kvCacheTokens / blockSize;
        if (blocks < 1 || blocks > Integer.MAX_VALUE / 2) {
            throw new IllegalArgumentException("kv_cache_len " + kvCacheTokens + " gives " + blocks + " blocks of "
                    + blockSize + " tokens; expected between 1 and " + Integer.MAX_VALUE / 2);
        }
        this.blockSize = blockSize;
        this.numBlocks = (int) blocks;
        this.prefixCaching = prefixCaching;
        this.counting = counting;
        int ids = counting ? 0 : numBlocks;
        this.refCount = new int[ids];
        this.hash = new long[ids];
        this.hashed = new boolean[ids];
        this.sameHashNext = new int[ids];
        this.sameHashPrev = new int[ids];
        this.sameHashLast = new int[ids];
        this.prev = new int[ids];
        this.next = new int[ids];
        if (counting) {
            freeCount = numBlocks;
        }
        for (int b = 0; b < ids; b++) {
            appendTail(b);
        }
        this.cached = new LongIntMap(prefixCaching ? Math.min(numBlocks, 1 << 16) : 16);
    }

    public int blockSize() {
        return blockSize;
    }

    /** Whether this cache keeps only block counts ({@link #counting}). */
    public boolean isCounting() {
        return counting;
    }

    /**
     * A counting cache only: takes {@code n} free blocks for sequences whose tables learn of them later,
     * through {@link #assign}.
     */
    public void reserve(int n) {
        if (!counting) {
            throw new IllegalStateException("reserve needs a counting KV cache");
        }
        if (n > freeCount) {
            throw new IllegalStateException("allocating " + n + " blocks with " + freeCount + " free");
        }
        freeCount -= n;
    }

    /** A counting cache only: adds {@code n} blocks taken by {@link #reserve} to a sequence's table. */
    public void assign(int n, BlockTable table) {
        if (!counting) {
            throw new IllegalStateException("assign needs a counting KV cache");
        }
        table.count(n);
    }

    public int totalBlocks() {
        return numBlocks;
    }

    public int freeBlocks() {
        return freeCount;
    }

    public int usedBlocks() {
        return numBlocks - freeCount;
    }

    /**
     * How many leading blocks of this hash chain are cached (0 without prefix caching). The caller keeps at
     * least one token to compute, as vLLM does.
     */
    public int cachedPrefix(long[] blockHashes, int count) {
        if (!prefixCaching) {
            return 0;
        }
        int n = 0;
        while (n < count && cached.get(blockHashes[n]) != NONE) {
            n++;
        }
        return n;
    }

    /** Free blocks that taking these cached blocks would use up (those not referenced by anyone now). */
    public int unreferencedAmong(long[] blockHashes, int count) {
        int n = 0;
        for (int i = 0; i < count; i++) {
            int b = cached.get(blockHashes[i]);
            if (refCount[b] == 0) {
                n++;
            }
        }
        return n;
    }

    /** References the cached blocks of the first {@code count} hashes and appends them to {@code table}. */
    public void takeCached(long[] blockHashes, int count, BlockTable table) {
        for (int i = 0; i < count; i++) {
            int b = cached.get(blockHashes[i]);
            if (refCount[b]++ == 0) {
                unlink(b);
            }
            table.add(b);
        }
    }

    /** Allocates {@code n} fresh blocks (evicting cached ones as needed) and appends them to the table. */
    public void allocate(int n, BlockTable table) {
        if (n > freeCount) {
            throw new IllegalStateException("allocating " + n + " blocks with " + freeCount + " free");
        }
        if (counting) {
            freeCount -= n;
            table.count(n);
            return;
        }
        for (int i = 0; i < n; i++) {
            int b = head;
            unlink(b);
            if (hashed[b]) {
                forget(b);
            }
            refCount[b] = 1;
            table.add(b);
        }
    }

    /**
     * Registers a block that is now full under its hash. A hash cached already keeps being served by its first
     * block; this one is kept behind it and serves the hash once the first is evicted, as vLLM's block pool keeps
     * every block computed for a key (it does not de-duplicate).
     */
    public void register(int block, long blockHash) {
        if (!prefixCaching || hashed[block]) {
            return;
        }
        hashed[block] = true;
        hash[block] = blockHash;
        sameHashNext[block] = NONE;
        int first = cached.get(blockHash);
        if (first == NONE) {
            sameHashPrev[block] = NONE;
            sameHashLast[block] = block;
            cached.put(blockHash, block);
            return;
        }
        int last = sameHashLast[first];
        sameHashNext[last] = block;
        sameHashPrev[block] = last;
        sameHashLast[first] = block;
    }

    /** Takes a hashed block out of its hash's blocks (evicted or unregistered); the next one, if any, serves it. */
    private void forget(int b) {
        long h = hash[b];
        int first = cached.get(h);
        int p = sameHashPrev[b];
        int n = sameHashNext[b];
        if (first == b) {
            if (n == NONE) {
                cached.remove(h);
            } else {
                sameHashPrev[n] = NONE;
                sameHashLast[n] = sameHashLast[b];
                cached.put(h, n);
            }
        } else {
            sameHashNext[p] = n;
            if (n != NONE) {
                sameHashPrev[n] = p;
            } else {
                sameHashLast[first] = p;
            }
        }
        hashed[b] = false;
    }

    /**
     * Takes back the registration of {@code block} (its contents will never be computed: the sequence that was to
     * compute it left the step before it ran), so that no later prompt finds it.
     */
    public void unregister(int block) {
        if (counting || !prefixCaching || !hashed[block]) {
            return;
        }
        forget(block);
    }

    /** Releases a sequence's blocks, last first, so that a prompt's tail is evicted before its head. */
    public void free(BlockTable table) {
        if (counting) {
            freeCount += table.size();
            table.clear();
            return;
        }
        for (int i = table.size() - 1; i >= 0; i--) {
            int b = table.get(i);
            if (--refCount[b] == 0) {
                appendTail(b);
            } else if (refCount[b] < 0) {
                throw new IllegalStateException("block " + b + " freed more often than taken");
            }
        }
        table.clear();
    }

    public int refCount(int block) {
        return refCount[block];
    }

    private void appendTail(int b) {
        prev[b] = tail;
        next[b] = NONE;
        if (tail != NONE) {
            next[tail] = b;
        } else {
            head = b;
        }
        tail = b;
        freeCount++;
    }

    private void unlink(int b) {
        int p = prev[b];
        int n = next[b];
        if (p != NONE) {
            next[p] = n;
        } else {
            head = n;
        }
        if (n != NONE) {
            prev[n] = p;
        } else {
            tail = p;
        }
        freeCount--;
    }

    /** Checks the bookkeeping (for tests): free list length, reference counts, hash index. */
    public void checkConsistency() {
        if (counting) {
            if (freeCount < 0 || freeCount > numBlocks) {
                throw new IllegalStateException(freeCount + " free blocks of " + numBlocks);
            }
            return;
        }
        int n = 0;
        for (int b = head; b != NONE; b = next[b]) {
            if (refCount[b] != 0) {
                throw new IllegalStateException("block " + b + " is free but referenced " + refCount[b] + " times");
            }
            n++;
        }
        if (n != freeCount) {
            throw new IllegalStateException("free list holds " + n + " blocks, count says " + freeCount);
        }
        int referenced = 0;
        for (int b = 0; b < numBlocks; b++) {
            if (refCount[b] > 0) {
                referenced++;
            }
        }
        if (referenced + freeCount != numBlocks) {
            throw new IllegalStateException(
                    referenced + " referenced + " + freeCount + " free != " + numBlocks + " blocks");
        }
        // the hash index: every hashed block is among its hash's blocks, and every indexed hash maps to a hashed block
        // of that hash that heads them
        int heads = 0;
        for (int b = 0; b < numBlocks; b++) {
            if (!hashed[b]) {
                continue;
            }
            int first = cached.get(hash[b]);
            if (first == b) {
                heads++;
            }
            int at = first;
            while (at != NONE && at != b) {
                if (!hashed[at] || hash[at] != hash[b]) {
                    throw new IllegalStateException(
                            "block " + at + " is among the blocks of hash " + hash[b] + " but is not hashed under it");
                }
                at = sameHashNext[at];
            }
            if (at != b) {
                throw new IllegalStateException("block " + b + " is hashed but not among its hash's blocks");
            }
            if (sameHashNext[b] == NONE && sameHashLast[first] != b) {
                throw new IllegalStateException("the blocks of hash " + hash[b] + " end at " + b + " but the first, "
                        + first + ", names " + sameHashLast[first] + " as the last");
            }
        }
        if (heads != cached.size()) {
            throw new IllegalStateException(heads + " hashes have blocks but the index holds " + cached.size());
        }
    }

    /** A sequence's list of block ids (only their count, from a {@link #counting} cache). */
    public static final class BlockTable {
        private static final int[] NO_IDS = new int[0];
        private int[] blocks = NO_IDS;
        private final int capacity;
        private int size;
        private boolean counted;

        public BlockTable() {
            this(8);
        }

        /** @param capacity the blocks it is expected to hold (it grows past them); taken at the first id */
        public BlockTable(int capacity) {
            this.capacity = Math.max(1, capacity);
        }

        void add(int b) {
            if (size == blocks.length) {
                blocks = Arrays.copyOf(blocks, Math.max(capacity, size * 2));
            }
            blocks[size++] = b;
        }

        void count(int n) {
            counted = true;
            size += n;
        }

        public int get(int i) {
            if (counted) {
                throw new IllegalStateException("a counting KV cache keeps no block ids");
            }
            return blocks[i];
        }

        public int size() {
            return size;
        }

        void clear() {
            size = 0;
            counted = false;
        }
    }
}
