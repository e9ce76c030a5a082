package io.twinserve.twin.kv;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.twinserve.twin.kv.KvBlockManager.BlockTable;
import org.junit.jupiter.api.Test;

class KvBlockManagerTest {
    private static final int BS = 4;

    private static int[] ids(BlockTable t) {
        int[] out = new int[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = t.get(i);
        }
        return out;
    }

    /** Allocates {@code n} blocks for a new table and registers them under the given hashes. */
    private static BlockTable filled(KvBlockManager kv, long... hashes) {
        BlockTable t = new BlockTable();
        kv.allocate(hashes.length, t);
        for (int i = 0; i < hashes.length; i++) {
            kv.register(t.get(i), hashes[i]);
        }
        return t;
    }

    @Test
    void aCountingCacheKeepsTheCountsOfTheBlockIdCacheWithoutIds() {
        KvBlockManager ids = new KvBlockManager(10 * BS, BS, false);
        KvBlockManager counts = KvBlockManager.counting(10 * BS, BS);
        assertThat(counts.isCounting()).isTrue();
        assertThat(ids.isCounting()).isFalse();
        BlockTable a = new BlockTable();
        BlockTable b = new BlockTable();
        BlockTable c = new BlockTable();
        BlockTable d = new BlockTable();
        ids.allocate(3, a);
        counts.allocate(3, c);
        ids.allocate(4, b);
        counts.reserve(4);
        counts.assign(4, d);
        assertThat(counts.freeBlocks()).isEqualTo(ids.freeBlocks()).isEqualTo(3);
        assertThat(c.size()).isEqualTo(a.size());
        assertThat(d.size()).isEqualTo(b.size());
        assertThatThrownBy(() -> c.get(0))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("no block ids");
        assertThatThrownBy(() -> counts.allocate(4, new BlockTable()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("allocating 4 blocks with 3 free");
        assertThatThrownBy(() -> counts.reserve(4)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> ids.reserve(1))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("counting");
        ids.free(b);
        counts.free(d);
        assertThat(d.size()).isZero();
        assertThat(counts.freeBlocks()).isEqualTo(ids.freeBlocks()).isEqualTo(7);
        counts.free(c);
        assertThat(counts.usedBlocks()).isZero();
        counts.checkConsistency();
    }

    @Test
    void capacityIsWholeBlocksOfTheKvCache() {
        KvBlockManager kv = new KvBlockManager(4 * BS + 3, BS, true);
        assertThat(kv.totalBlocks()).isEqualTo(4);
        assertThat(kv.freeBlocks()).isEqualTo(4);
        assertThatThrownBy(() -> new KvBlockManager(BS - 1, BS, true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("kv_cache_len 3 gives 0 blocks");
    }

    @Test
    void aSecondSequenceWithTheSameHashesTakesTheCachedBlocks() {
        KvBlockManager kv = new KvBlockManager(8 * BS, BS, true);
        long[] prompt = {11, 12, 13, 14};
        BlockTable first = filled(kv, 11, 12, 13);
        assertThat(kv.cachedPrefix(prompt, 4)).isEqualTo(3);
        assertThat(kv.unreferencedAmong(prompt, 3))
                .as("all still referenced by the first")
                .isZero();

        int[] firstIds = ids(first);
        BlockTable second = new BlockTable();
        kv.takeCached(prompt, 3, second);
        assertThat(ids(second)).containsExactly(firstIds);
        assertThat(kv.usedBlocks()).as("sharing takes no new block").isEqualTo(3);
        for (int b : firstIds) {
            assertThat(kv.refCount(b)).isEqualTo(2);
        }

        kv.free(first);
        assertThat(kv.usedBlocks()).isEqualTo(3);
        kv.free(second);
        assertThat(kv.freeBlocks()).isEqualTo(8);
        kv.checkConsistency();

        // unreferenced, the blocks stay cached: a third sequence still finds them, and taking them uses up
        // free blocks
        assertThat(kv.cachedPrefix(prompt, 4)).isEqualTo(3);
        assertThat(kv.unreferencedAmong(prompt, 3)).isEqualTo(3);
        BlockTable third = new BlockTable();
        kv.takeCached(prompt, 3, third);
        assertThat(ids(third)).containsExactly(firstIds);
        assertThat(kv.freeBlocks()).isEqualTo(5);
        kv.checkConsistency();
    }

    @Test
    void onlyALeadingRunOfCachedHashesCounts() {
        KvBlockManager kv = new KvBlockManager(8 * BS, BS, true);
        filled(kv, 1, 2, 3);
        assertThat(kv.cachedPrefix(new long[] {1, 99, 3}, 3)).isEqualTo(1);
        assertThat(kv.cachedPrefix(new long[] {99, 2, 3}, 3)).isZero();
        assertThat(kv.cachedPrefix(new long[] {1, 2, 3}, 2))
                .as("limited by count")
                .isEqualTo(2);
    }

    @Test
    void withoutPrefixCachingNothingIsReused() {
        KvBlockManager kv = new KvBlockManager(8 * BS, BS, false);
        BlockTable t = filled(kv, 1, 2);
        kv.free(t);
        assertThat(kv.cachedPrefix(new long[] {1, 2}, 2)).isZero();
    }

    /**
     * vLLM 0.8.5's block pool: every freed block goes to the free list's tail, hashed or not, so blocks are taken in
     * the order they were freed; an unhashed block freed after cached ones does not jump the queue.
     */
    @Test
    void freedBlocksAreReusedInTheOrderTheyWereFreedHashedOrNot() {
        KvBlockManager kv = new KvBlockManager(4 * BS, BS, true);
        BlockTable hashed = filled(kv, 101, 102);
        BlockTable plain = new BlockTable();
        kv.allocate(2, plain);
        int[] hashedIds = ids(hashed);
        int[] plainIds = ids(plain);
        kv.free(hashed);
        kv.free(plain);

        // the cached blocks, freed first, are evicted first (the prompt's tail before its head)
        BlockTable next = new BlockTable();
        kv.allocate(1, next);
        assertThat(next.get(0)).isEqualTo(hashedIds[1]);
        assertThat(kv.cachedPrefix(new long[] {101, 102}, 2))
                .as("the head of the prompt is still cached")
                .isEqualTo(1);
        kv.allocate(1, next);
        assertThat(next.get(1)).isEqualTo(hashedIds[0]);
        assertThat(kv.cachedPrefix(new long[] {101, 102}, 2)).isZero();
        kv.allocate(2, next);
        assertThat(new int[] {next.get(2), next.get(3)}).containsExactly(plainIds[1], plainIds[0]);
        kv.checkConsistency();
    }

    /** Three blocks of one key: taking out the middle, then the last, then the first keeps the others serving it. */
    @Test
    void blocksOfOneKeyLeaveFromAnyPlaceOfTheirOrder() {
        KvBlockManager kv = new KvBlockManager(6 * BS, BS, true);
        BlockTable a = filled(kv, 5);
        BlockTable b = filled(kv, 5);
        BlockTable c = filled(kv, 5);
        int ia = a.get(0);
        int ib = b.get(0);
        int ic = c.get(0);
        kv.unregister(ib);
        kv.checkConsistency();
        kv.unregister(ic);
        kv.checkConsistency();
        BlockTable d = filled(kv, 5);
        kv.checkConsistency();
        kv.unregister(ia);
        kv.checkConsistency();
        // d, registered after a, serves the key now
        BlockTable reader = new BlockTable();
        kv.takeCached(new long[] {5}, 1, reader);
        assertThat(reader.get(0)).isEqualTo(d.get(0)).isNotIn(ia, ib, ic);
        kv.checkConsistency();
    }

    @Test
    void anUnregisteredBlockIsFoundByNoPrompt() {
        KvBlockManager kv = new KvBlockManager(4 * BS, BS, true);
        BlockTable t = filled(kv, 7, 8);
        kv.unregister(t.get(1));
        assertThat(kv.cachedPrefix(new long[] {7, 8}, 2)).isEqualTo(1);
        // a later writer may register the hash again
        BlockTable other = filled(kv, 8);
        BlockTable reader = new BlockTable();
        kv.takeCached(new long[] {8}, 1, reader);
        assertThat(reader.get(0)).isEqualTo(other.get(0));
        kv.checkConsistency();
    }

    @Test
    void theLeastRecentlyFreedCachedBlockIsEvictedFirst() {
        KvBlockManager kv = new KvBlockManager(3 * BS, BS, true);
        BlockTable a = filled(kv, 1);
        BlockTable b = filled(kv, 2);
        BlockTable c = filled(kv, 3);
        kv.free(b);
        kv.free(a);
        kv.free(c);

        BlockTable t = new BlockTable();
        kv.allocate(1, t);
        assertThat(kv.cachedPrefix(new long[] {2}, 1)).as("b was freed first").isZero();
        assertThat(kv.cachedPrefix(new long[] {1}, 1)).isEqualTo(1);
        assertThat(kv.cachedPrefix(new long[] {3}, 1)).isEqualTo(1);

        // taking a cached block back refreshes it: freed again, it goes behind c
        BlockTable again = new BlockTable();
        kv.takeCached(new long[] {1}, 1, again);
        kv.free(again);
        kv.allocate(1, t);
        assertThat(kv.cachedPrefix(new long[] {3}, 1)).isZero();
        assertThat(kv.cachedPrefix(new long[] {1}, 1)).isEqualTo(1);
        kv.checkConsistency();
    }

    @Test
    void aTakenCachedBlockIsNotEvictedByAllocation() {
        KvBlockManager kv = new KvBlockManager(3 * BS, BS, true);
        BlockTable a = filled(kv, 7);
        int cachedBlock = a.get(0);
        kv.free(a);
        BlockTable user = new BlockTable();
        kv.takeCached(new long[] {7}, 1, user);
        assertThat(kv.freeBlocks()).isEqualTo(2);
        BlockTable other = new BlockTable();
        kv.allocate(2, other);
        assertThat(ids(other)).doesNotContain(cachedBlock);
        assertThat(kv.cachedPrefix(new long[] {7}, 1)).isEqualTo(1);
        assertThatThrownBy(() -> kv.allocate(1, new BlockTable()))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("allocating 1 blocks with 0 free");
        kv.checkConsistency();
    }

    @Test
    void theFirstBlockOfAHashServesItAndADuplicateTakesOverWhenItIsEvicted() {
        KvBlockManager kv = new KvBlockManager(4 * BS, BS, true);
        BlockTable first = filled(kv, 42);
        BlockTable second = filled(kv, 42);
        assertThat(second.get(0)).isNotEqualTo(first.get(0));

        BlockTable reader = new BlockTable();
        kv.takeCached(new long[] {42}, 1, reader);
        assertThat(reader.get(0))
                .as("the first registered block serves the hash")
                .isEqualTo(first.get(0));

        // a block already registered keeps its hash
        kv.register(first.get(0), 43);
        assertThat(kv.cachedPrefix(new long[] {43}, 1)).isZero();

        // the second writer's block is kept behind the first (vLLM does not de-duplicate): once the first is evicted,
        // it serves the hash
        kv.free(reader);
        kv.free(first);
        kv.free(second);
        assertThat(kv.cachedPrefix(new long[] {42}, 1)).isEqualTo(1);
        BlockTable evicting = new BlockTable();
        while (true) {
            kv.allocate(1, evicting);
            if (evicting.get(evicting.size() - 1) == first.get(0)) {
                break;
            }
        }
        assertThat(kv.cachedPrefix(new long[] {42}, 1))
                .as("served by the second writer's block")
                .isEqualTo(1);
        BlockTable served = new BlockTable();
        kv.takeCached(new long[] {42}, 1, served);
        assertThat(served.get(0)).isEqualTo(second.get(0));
        kv.checkConsistency();
    }

    @Test
    void evictingACachedBlockForgetsItsHashSoALaterWriterCanRegister() {
        KvBlockManager kv = new KvBlockManager(1 * BS, BS, true);
        BlockTable a = filled(kv, 5);
        kv.free(a);
        BlockTable b = new BlockTable();
        kv.allocate(1, b);
        assertThat(kv.cachedPrefix(new long[] {5}, 1)).isZero();
        kv.register(b.get(0), 6);
        kv.free(b);
        assertThat(kv.cachedPrefix(new long[] {6}, 1)).isEqualTo(1);
        assertThat(kv.cachedPrefix(new long[] {5}, 1)).isZero();
    }
}
