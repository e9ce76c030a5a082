package io.twinserve.twin.sched;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class SchedulerTest {
    private static final long STEP = 10;
    private static final long[] NO_HASHES = new long[0];

    /** A scheduler with its KV and adapter cache; loads take 5 ns from host memory, 50 from storage. */
    private static final class Rig implements StepListener {
        final SchedulerConfig config;
        final KvBlockManager kv;
        final AdapterCache adapters;
        final Scheduler scheduler;
        final List<Sequence> finished = new ArrayList<>();
        final List<Sequence> firstTokens = new ArrayList<>();
        long now;
        long order;

        Rig(int maxNumSeqs, int budget, int blockSize, int kvTokens, int slots) {
            config = new SchedulerConfig(
                    maxNumSeqs, budget, true, blockSize, kvTokens, true, slots, 8, 16, kvTokens, false);
            kv = new KvBlockManager(kvTokens, blockSize, true);
            adapters = new AdapterCache(slots, 8, 8, AdapterCache.LoadTimes.fixed(5, 50));
            scheduler = new Scheduler(config, kv, adapters, 8);
        }

        Sequence add(int adapter, int prompt, int output) {
            return add(adapter, prompt, output, NO_HASHES);
        }

        Sequence add(int adapter, int prompt, int output, long[] hashes) {
            Sequence s = new Sequence(order, order, now, adapter, adapter < 0 ? 0 : 8, prompt, output, hashes);
            order++;
            scheduler.enqueue(s);
            return s;
        }

        /** Plans a step at the current time; returns its batch (a copy). */
        List<Sequence> plan() {
            scheduler.plan(now);
            return new ArrayList<>(scheduler.batch());
        }

        void complete() {
            now += STEP + scheduler.stallNs();
            scheduler.complete(now, this);
        }

        List<Sequence> step() {
            List<Sequence> batch = plan();
            complete();
            return batch;
        }

        @Override
        public void onFirstToken(Sequence s, long nowNs) {
            firstTokens.add(s);
        }

        @Override
        public void onToken(Sequence s, long gapNs) {}

        @Override
        public void onFinished(Sequence s, long nowNs) {
            finished.add(s);
        }
    }

    @Test
    void aStepsShapeCountsTheAdaptersHeldInSlotsInTheBatchOrNot() {
        Rig r = new Rig(8, 256, 4, 400, 4);
        r.add(0, 8, 2);
        r.add(1, 8, 2);
        r.add(2, 8, 2);
        r.plan();
        assertThat(r.scheduler.shape().loadedAdapters)
                .as("loaded by this step's admissions")
                .isEqualTo(3);
        assertThat(r.scheduler.shape().distinctAdapters).isEqualTo(3);
        r.complete();
        while (!r.scheduler.isIdle()) {
            r.step();
        }
        r.add(-1, 8, 2);
        r.plan();
        assertThat(r.scheduler.shape().distinctAdapters)
                .as("a base-model request")
                .isZero();
        assertThat(r.scheduler.shape().loadedAdapters)
                .as("the three stay in their slots")
                .isEqualTo(3);
        // the replica's slots and their rank (max_adapter_rank) price the LoRA kernels' launches of every step
        assertThat(r.scheduler.shape().loraSlots).isEqualTo(4);
        assertThat(r.scheduler.shape().loraSlotRank).isEqualTo(r.config.maxAdapterRank());
        assertThat(r.config.maxAdapterRank()).isEqualTo(16);
    }

    @Test
    void runningDecodesAreScheduledBeforeWaitingPrefills() {
        Rig rig = new Rig(8, 8, 4, 256, 2);
        Sequence a = rig.add(-1, 4, 10);
        assertThat(rig.step()).containsExactly(a);
        assertThat(a.decoding).isTrue();

        Sequence b = rig.add(-1, 100, 5);
        List<Sequence> batch = rig.plan();
        assertThat(batch).containsExactly(a, b);
        assertThat(a.chunk).as("one decode token").isEqualTo(1);
        assertThat(b.chunk).as("the prefill gets the rest of the budget").isEqualTo(7);
        assertThat(rig.scheduler.shape().decodeSequences).isEqualTo(1);
        assertThat(rig.scheduler.shape().newTokens).isEqualTo(8);
        assertThat(rig.scheduler.shape().newRequests).isEqualTo(1);
    }

    @Test
    void anAbortedRequestLeavesThePlannedStepWithItsBlocksAndAdapterSlotAndIsNeverReported() {
        Rig rig = new Rig(8, 64, 4, 256, 1);
        Sequence base = rig.add(-1, 8, 4);
        Sequence failing = rig.add(0, 12, 4);
        Sequence other = rig.add(1, 4, 2);
        Sequence waiting = rig.add(-1, 4, 2);
        assertThat(rig.plan())
                .as("the one slot holds adapter 0, so adapter 1 waits")
                .containsExactly(base, failing, waiting);
        assertThat(rig.scheduler.shape().newTokens).isEqualTo(24);
        assertThat(rig.scheduler.shape().distinctAdapters).isEqualTo(1);

        rig.scheduler.abort(failing, rig.now);
        assertThat(rig.scheduler.batch()).containsExactly(base, waiting);
        assertThat(rig.scheduler.shape().sequences).isEqualTo(2);
        assertThat(rig.scheduler.shape().newTokens).isEqualTo(12);
        assertThat(rig.scheduler.shape().newRequests).isEqualTo(2);
        assertThat(rig.scheduler.shape().distinctAdapters).isZero();
        assertThat(rig.scheduler.shape().adapterRankSum).isZero();
        assertThat(rig.scheduler.shape().adapterTokens).isZero();
        assertThat(rig.kv.usedBlocks()).as("base's 2 blocks and waiting's 1").isEqualTo(3);
        assertThat(rig.adapters.refs(0)).isZero();
        rig.complete();
        assertThat(rig.firstTokens).containsExactly(base, waiting);

        assertThat(rig.plan()).as("the slot is free for adapter 1 now").contains(other);
        Sequence late = rig.add(-1, 4, 2);
        rig.scheduler.abort(late, rig.now);
        assertThat(rig.scheduler.waitingCount()).isZero();
        for (int i = 0; i < 10; i++) {
            rig.complete();
            rig.plan();
        }
        assertThat(rig.finished).containsExactlyInAnyOrder(base, waiting, other);
        assertThat(rig.kv.usedBlocks()).isZero();
    }

    @Test
    void chunkedPrefillSplitsALongPromptAcrossStepsWithinTheBudget() {
        Rig rig = new Rig(8, 8, 4, 256, 2);
        Sequence s = rig.add(-1, 20, 2);
        int[] chunks = new int[3];
        int[] blocks = new int[3];
        for (int i = 0; i < 3; i++) {
            assertThat(rig.plan()).containsExactly(s);
            chunks[i] = s.chunk;
            blocks[i] = s.blocks.size();
            assertThat(rig.scheduler.shape().newTokens).isLessThanOrEqualTo(8);
            assertThat(rig.scheduler.shape().sampledTokens)
                    .as("samples only with the last chunk")
                    .isEqualTo(i == 2 ? 1 : 0);
            rig.complete();
            assertThat(rig.firstTokens).as("first token after chunk %d", i).hasSize(i == 2 ? 1 : 0);
        }
        assertThat(chunks).containsExactly(8, 8, 4);
        assertThat(blocks).as("blocks grow with the chunks").containsExactly(2, 4, 5);
        assertThat(s.computed).isEqualTo(20);
        assertThat(s.decoding).isTrue();
        assertThat(rig.step()).containsExactly(s);
        assertThat(rig.finished).containsExactly(s);
    }

    @Test
    void whenBlocksRunOutTheNewestRunningSequenceIsPreemptedAndLaterRecomputed() {
        // 4 blocks of 4 tokens; each sequence alone needs at most 3 blocks (4 + 8 - 1 tokens)
        Rig rig = new Rig(8, 64, 4, 16, 2);
        Sequence a = rig.add(-1, 4, 8);
        Sequence b = rig.add(-1, 4, 8);
        assertThat(rig.step()).containsExactly(a, b);

        int generatedAtPreemption = -1;
        for (int i = 0; i < 10 && generatedAtPreemption < 0; i++) {
            List<Sequence> batch = rig.plan();
            if (b.preemptions() == 1) {
                generatedAtPreemption = b.generated();
                assertThat(batch).as("the older sequence keeps running").containsExactly(a);
                assertThat(rig.scheduler.running()).containsExactly(a);
                assertThat(rig.scheduler.waitingCount()).isEqualTo(1);
                assertThat(b.blocks.size()).as("the victim's blocks are freed").isZero();
                assertThat(b.computed).isZero();
                assertThat(b.decoding).isFalse();
                assertThat(a.preemptions()).isZero();
                assertThat(rig.scheduler.preemptions()).isEqualTo(1);
            }
            rig.complete();
        }
        assertThat(generatedAtPreemption).as("b was preempted").isPositive();

        // b comes back once a finishes and recomputes its prompt and the tokens it had generated
        while (!rig.finished.contains(a)) {
            assertThat(rig.step()).doesNotContain(b);
        }
        List<Sequence> batch = rig.plan();
        assertThat(batch).containsExactly(b);
        assertThat(b.chunk).isEqualTo(4 + generatedAtPreemption);
        assertThat(rig.scheduler.shape().decodeSequences).isZero();
        rig.complete();
        assertThat(b.generated()).as("the recompute samples the next token").isEqualTo(generatedAtPreemption + 1);
        while (!rig.finished.contains(b)) {
            rig.step();
        }
        assertThat(b.generated()).isEqualTo(8);
        assertThat(rig.firstTokens).as("first token reported once per request").containsExactly(a, b);
        assertThat(rig.kv.freeBlocks()).isEqualTo(4);
    }

    /**
     * A preempted request goes back to the very front of the waiting queue, as vLLM's V1 scheduler puts it
     * ({@code appendleft}): ahead of a request that arrived before it and that it had passed because that one's
     * adapter had no slot. So when the slot frees, the preempted request's adapter keeps it.
     */
    @Test
    void aPreemptedRequestGoesBackAheadOfEveryWaitingRequestAnEarlierArrivalOfAnotherAdapterToo() {
        // one slot; 4 blocks of 4 tokens, so that r and v cannot both finish running
        Rig rig = new Rig(8, 64, 4, 16, 1);
        Sequence r = rig.add(0, 4, 8);
        assertThat(rig.step()).containsExactly(r);
        Sequence e = rig.add(1, 4, 2);
        Sequence v = rig.add(0, 4, 8);
        assertThat(rig.step()).as("v passes e: its adapter has the slot").containsExactly(r, v);
        while (v.preemptions() == 0) {
            rig.step();
        }
        while (!rig.finished.contains(r)) {
            assertThat(rig.step()).doesNotContain(e);
        }
        List<Sequence> next = rig.plan();
        assertThat(next).as("the preempted v first, though e arrived before it").containsExactly(v);
        assertThat(rig.adapters.isResident(0)).isTrue();
        assertThat(rig.adapters.isResident(1)).isFalse();
        rig.complete();
    }

    @Test
    void aRequestForANewAdapterWaitsWhileEverySlotIsInUseAndLaterRequestsOfResidentAdaptersPassIt() {
        Rig rig = new Rig(8, 64, 4, 256, 1);
        Sequence a = rig.add(0, 4, 5);
        assertThat(rig.step()).containsExactly(a);
        Sequence b = rig.add(1, 4, 2);
        Sequence c = rig.add(0, 4, 2);
        Sequence d = rig.add(-1, 4, 2);

        List<Sequence> batch = rig.plan();
        assertThat(batch).as("c (resident adapter) and d (base model) pass b").containsExactly(a, c, d);
        assertThat(rig.scheduler.shape().distinctAdapters).isEqualTo(1);
        assertThat(rig.adapters.isResident(1)).isFalse();
        rig.complete();

        while (rig.scheduler.running().contains(a) || rig.scheduler.running().contains(c)) {
            assertThat(rig.step()).doesNotContain(b);
        }
        assertThat(rig.plan()).containsExactly(b);
        assertThat(rig.scheduler.stallNs())
                .as("a synchronous load stalls the step")
                .isEqualTo(55);
        assertThat(rig.adapters.isResident(1)).isTrue();
        assertThat(rig.adapters.isResident(0))
                .as("the unused slot was reloaded")
                .isFalse();
        rig.complete();
    }

    @Test
    void anAdapterLoadedInTheBackgroundJoinsTheBatchWhenReady() {
        Rig sync = new Rig(8, 64, 4, 256, 1);
        SchedulerConfig asyncConfig = new SchedulerConfig(8, 64, true, 4, 256, true, 1, 8, 16, 256, true);
        Scheduler scheduler = new Scheduler(asyncConfig, sync.kv, sync.adapters, 8);
        Sequence s = new Sequence(0, 0, 0, 3, 8, 4, 2, NO_HASHES);
        scheduler.enqueue(s);
        assertThat(scheduler.plan(0)).isTrue();
        assertThat(scheduler.batch()).as("not in a batch while loading").isEmpty();
        assertThat(scheduler.nextAdapterReadyNs()).isEqualTo(55);
        assertThat(scheduler.runningCount()).isEqualTo(1);
        scheduler.plan(54);
        assertThat(scheduler.batch()).isEmpty();
        scheduler.plan(55);
        assertThat(scheduler.batch()).containsExactly(s);
        assertThat(scheduler.stallNs()).isZero();
    }

    @Test
    void fcfsAdmissionStopsAtTheFirstRequestWhoseBlocksDoNotFit() {
        // 4 blocks of 4 tokens
        Rig rig = new Rig(8, 64, 4, 16, 2);
        Sequence a = rig.add(-1, 6, 3);
        assertThat(rig.step()).containsExactly(a);
        assertThat(rig.kv.freeBlocks()).isEqualTo(2);
        Sequence b = rig.add(-1, 12, 1);
        Sequence c = rig.add(-1, 2, 1);

        List<Sequence> batch = rig.plan();
        assertThat(batch)
                .as("b needs 3 blocks with 2 free; c would fit but waits behind it")
                .containsExactly(a);
        assertThat(rig.scheduler.waitingCount()).isEqualTo(2);
        rig.complete();
        rig.step();
        assertThat(rig.finished).containsExactly(a);
        assertThat(rig.step()).containsExactly(b, c);
    }

    @Test
    void maxNumSeqsLimitsTheRunningSequences() {
        Rig rig = new Rig(2, 64, 4, 256, 2);
        Sequence a = rig.add(-1, 4, 3);
        Sequence b = rig.add(-1, 4, 3);
        Sequence c = rig.add(-1, 4, 3);
        assertThat(rig.step()).containsExactly(a, b);
        assertThat(rig.step()).containsExactly(a, b);
        assertThat(rig.scheduler.waitingCount()).isEqualTo(1);
        rig.step();
        assertThat(rig.step()).containsExactly(c);
    }

    @Test
    void aSecondRequestWithTheSamePrefixSkipsTheCachedBlocksButComputesAtLeastOneToken() {
        Rig rig = new Rig(8, 64, 4, 256, 2);
        long[] hashes = {1, 2, 3};
        Sequence first = rig.add(-1, 12, 1, hashes);
        rig.step();
        assertThat(rig.finished).containsExactly(first);

        Sequence longer = rig.add(-1, 14, 1, hashes);
        assertThat(rig.plan()).containsExactly(longer);
        assertThat(longer.chunk).as("3 cached blocks, 2 tokens to compute").isEqualTo(2);
        assertThat(longer.cachedTokens()).isEqualTo(12);
        rig.complete();

        Sequence same = rig.add(-1, 12, 1, hashes);
        assertThat(rig.plan()).containsExactly(same);
        assertThat(same.chunk)
                .as("the last block is recomputed to sample a token")
                .isEqualTo(4);
        assertThat(same.cachedTokens()).isEqualTo(8);
        rig.complete();
        assertThat(rig.scheduler.cachedPromptTokens()).isEqualTo(20);
        assertThat(rig.scheduler.queriedPromptTokens()).isEqualTo(38);
    }

    /**
     * vLLM 0.8.5 caches a prefill chunk's full blocks when it schedules them: a request admitted later in the same
     * step reuses them, computing only what follows (its attention reads them after the step's KV writes).
     */
    @Test
    void aRequestAdmittedInTheSameStepReusesThePrefixAnEarlierOneIsComputing() {
        Rig rig = new Rig(8, 64, 4, 256, 2);
        long[] hashes = {1, 2, 3};
        Sequence first = rig.add(-1, 12, 1, hashes);
        Sequence second = rig.add(-1, 14, 1, hashes);
        assertThat(rig.plan()).containsExactly(first, second);
        assertThat(first.chunk).isEqualTo(12);
        assertThat(second.cachedTokens())
                .as("the first's three blocks, registered at planning")
                .isEqualTo(12);
        assertThat(second.chunk).isEqualTo(2);
        assertThat(second.blocks.get(0)).isEqualTo(first.blocks.get(0));
        rig.complete();
        assertThat(rig.finished).containsExactlyInAnyOrder(first, second);
        rig.kv.checkConsistency();
    }

    /**
     * A prefill chunk taken out of the planned step (the live engine's abort: its adapter failed to load) never
     * computes the blocks it registered at planning: they are unregistered, so no later prompt reads them.
     */
    @Test
    void anAbortedChunkTakesBackTheBlocksItRegisteredAtPlanning() {
        Rig rig = new Rig(8, 64, 4, 256, 2);
        long[] hashes = {1, 2, 3};
        Sequence first = rig.add(-1, 12, 1, hashes);
        assertThat(rig.plan()).containsExactly(first);
        assertThat(rig.kv.cachedPrefix(hashes, 3)).isEqualTo(3);
        rig.scheduler.abort(first, rig.now);
        assertThat(rig.kv.cachedPrefix(hashes, 3)).isZero();
        rig.kv.checkConsistency();
        // the next one computes its whole prompt
        rig.complete();
        Sequence next = rig.add(-1, 12, 1, hashes);
        assertThat(rig.plan()).containsExactly(next);
        assertThat(next.cachedTokens()).isZero();
        assertThat(next.chunk).isEqualTo(12);
    }

    /**
     * A request's cached prompt tokens are those found at its first scheduling, as vLLM reports them: a re-admission
     * after a preemption that finds the request's own blocks counts in the hit rate, not in the request's figure.
     */
    @Test
    void aRequestsCachedTokensAreThoseOfItsFirstSchedulingWhileTheHitRateCountsEveryLookup() {
        // 10 blocks of 4 tokens: the older request grows to 6 blocks and the newer to 8, so the newer is preempted;
        // its hashed prompt blocks go to the free list's tail and are still there when it is admitted again
        Rig rig = new Rig(8, 64, 4, 40, 2);
        Sequence older = rig.add(-1, 8, 16, new long[] {21, 22});
        rig.step();
        Sequence newer = rig.add(-1, 20, 12, new long[] {11, 12, 13, 14, 15});
        for (int i = 0; i < 40 && newer.preemptions() == 0; i++) {
            rig.step();
        }
        assertThat(newer.preemptions()).as("preempted once the blocks run out").isPositive();
        for (int i = 0; i < 200 && !rig.scheduler.isIdle(); i++) {
            rig.step();
        }
        assertThat(rig.finished).contains(older, newer);
        assertThat(newer.cachedTokens())
                .as("nothing cached at its first scheduling")
                .isZero();
        assertThat(rig.scheduler.cachedPromptTokens())
                .as("its re-admission found its own prompt blocks")
                .isPositive();
    }

    @Test
    void stepShapeCountsTheWaitingQueueAndWhetherPinnedSlotsBlockIt() {
        Rig r = new Rig(16, 64, 4, 1024, 2);
        r.add(0, 8, 4);
        r.add(1, 8, 4);
        r.plan();
        // both slots pinned by running requests, nobody waits
        assertThat(r.scheduler.shape().waitingSequences).isZero();
        assertThat(r.scheduler.shape().slotsBlocked).isFalse();
        assertThat(r.scheduler.shape().loraSlots).isEqualTo(2);
        r.complete();
        r.add(2, 8, 4);
        r.add(3, 8, 4);
        r.add(0, 8, 4);
        r.plan();
        // adapter 0's request joins its running adapter; 2 and 3 wait for a slot that two running requests pin
        assertThat(r.scheduler.shape().waitingSequences).isEqualTo(2);
        assertThat(r.scheduler.shape().slotsBlocked).isTrue();
    }
}
