package io.twinserve.twin.kv;

import java.util.Arrays;

/**
 * A paged KV cache of fixed-size blocks with prefix reuse, as vLLM's block pool works.
 *
 * <p>A block holds {@code blockSize} tokens. Blocks fully filled with prompt tokens are registered under
 * their chained hash; a later sequence whose prompt starts with the same hashes reuses them instead of
 * recomputing. Unreferenced blocks stay cached in an LRU free list: allocation takes the least recently
 * freed block and forgets its hash. Blocks that were never hashed go to the front of that list (reused
 * first). All state is primitive arrays indexed by block id; nothing is allocated per token.
 */
public final class KvBlockManager {
  private static final int NONE = -1;

  private final int blockSize;
  private final int numBlocks;
  private final boolean prefixCaching;
  private final int[] refCount;
  private final long[] hash;
  private final boolean[] hashed;
  // doubly linked LRU list of free (unreferenced) blocks: head is evicted first
  private final int[] prev;
  private final int[] next;
  private int head = NONE;
  private int tail = NONE;
  private int freeCount;
  private final LongIntMap cached;

  public KvBlockManager(long kvCacheTokens, int blockSize, boolean prefixCaching) {
    if (blockSize < 1) {
      throw new IllegalArgumentException("block_size must be >= 1, got " + blockSize);
    }
    long blocks = kvCacheTokens / blockSize;
    if (blocks < 1 || blocks > Integer.MAX_VALUE / 2) {
      throw new IllegalArgumentException("kv_cache_len " + kvCacheTokens + " gives " + blocks
          + " blocks of " + blockSize + " tokens; expected between 1 and " + Integer.MAX_VALUE / 2);
    }
    this.blockSize = blockSize;
    this.numBlocks = (int) blocks;
    this.prefixCaching = prefixCaching;
    this.refCount = new int[numBlocks];
    this.hash = new long[numBlocks];
    this.hashed = new boolean[numBlocks];
    this.prev = new int[numBlocks];
    this.next = new int[numBlocks];
    for (int b = 0; b < numBlocks; b++) {
      appendTail(b);
    }
    this.cached = new LongIntMap(prefixCaching ? Math.min(numBlocks, 1 << 16) : 16);
  }

  public int blockSize() {
    return blockSize;
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
    for (int i = 0; i < n; i++) {
      int b = head;
      unlink(b);
      if (hashed[b]) {
        // a hashed block is the one its hash maps to: register() lets only the first writer in
        cached.remove(hash[b]);
        hashed[b] = false;
      }
      refCount[b] = 1;
      table.add(b);
    }
  }

  /** Registers a block that is now full of prompt tokens under its hash (first writer wins). */
  public void register(int block, long blockHash) {
    if (!prefixCaching || hashed[block] || cached.get(blockHash) != NONE) {
      return;
    }
    hashed[block] = true;
    hash[block] = blockHash;
    cached.put(blockHash, block);
  }

  /** Releases a sequence's blocks, last first, so that a prompt's tail is evicted before its head. */
  public void free(BlockTable table) {
    for (int i = table.size() - 1; i >= 0; i--) {
      int b = table.get(i);
      if (--refCount[b] == 0) {
        if (hashed[b]) {
          appendTail(b);
        } else {
          prependHead(b);
        }
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

  private void prependHead(int b) {
    next[b] = head;
    prev[b] = NONE;
    if (head != NONE) {
      prev[head] = b;
    } else {
      tail = b;
    }
    head = b;
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
      throw new IllegalStateException(referenced + " referenced + " + freeCount + " free != " + numBlocks + " blocks");
    }
  }

  /** A sequence's list of block ids. */
  public static final class BlockTable {
    private int[] blocks;
    private int size;

    public BlockTable() {
      this(8);
    }

    /** @param capacity the blocks it is expected to hold (it grows past them) */
    public BlockTable(int capacity) {
      blocks = new int[Math.max(1, capacity)];
    }

    void add(int b) {
      if (size == blocks.length) {
        blocks = Arrays.copyOf(blocks, size * 2);
      }
      blocks[size++] = b;
    }

    public int get(int i) {
      return blocks[i];
    }

    public int size() {
      return size;
    }

    void clear() {
      size = 0;
    }
  }

  /** Open-addressing long-to-int map for the hash index (no boxing); -1 means absent. */
  static final class LongIntMap {
    private long[] keys;
    private int[] values;
    private boolean[] used;
    private int size;
    private int tombstones;
    private boolean[] deleted;

    LongIntMap(int capacity) {
      int c = Integer.highestOneBit(Math.max(16, capacity * 2 - 1)) << 1;
      keys = new long[c];
      values = new int[c];
      used = new boolean[c];
      deleted = new boolean[c];
    }

    int get(long k) {
      int mask = keys.length - 1;
      for (int i = index(k, mask); ; i = (i + 1) & mask) {
        if (!used[i] && !deleted[i]) {
          return NONE;
        }
        if (used[i] && keys[i] == k) {
          return values[i];
        }
      }
    }

    void put(long k, int v) {
      if ((size + tombstones + 1) * 2 > keys.length) {
        rehash(size * 2 + 2 > keys.length / 2 ? keys.length * 2 : keys.length);
      }
      int mask = keys.length - 1;
      int firstFree = -1;
      for (int i = index(k, mask); ; i = (i + 1) & mask) {
        if (used[i]) {
          if (keys[i] == k) {
            values[i] = v;
            return;
          }
        } else {
          if (firstFree < 0) {
            firstFree = i;
          }
          if (!deleted[i]) {
            break;
          }
        }
      }
      if (deleted[firstFree]) {
        deleted[firstFree] = false;
        tombstones--;
      }
      used[firstFree] = true;
      keys[firstFree] = k;
      values[firstFree] = v;
      size++;
    }

    void remove(long k) {
      int mask = keys.length - 1;
      for (int i = index(k, mask); ; i = (i + 1) & mask) {
        if (!used[i] && !deleted[i]) {
          return;
        }
        if (used[i] && keys[i] == k) {
          used[i] = false;
          deleted[i] = true;
          size--;
          tombstones++;
          return;
        }
      }
    }

    private void rehash(int capacity) {
      long[] oldKeys = keys;
      int[] oldValues = values;
      boolean[] oldUsed = used;
      keys = new long[capacity];
      values = new int[capacity];
      used = new boolean[capacity];
      deleted = new boolean[capacity];
      size = 0;
      tombstones = 0;
      for (int i = 0; i < oldKeys.length; i++) {
        if (oldUsed[i]) {
          put(oldKeys[i], oldValues[i]);
        }
      }
    }

    private static int index(long k, int mask) {
      long z = (k ^ (k >>> 33)) * 0xff51afd7ed558ccdL;
      return (int) (z ^ (z >>> 33)) & mask;
    }
  }
}
