package io.twinserve.twin.perf;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The sub-shapes a speculative step is priced from match the shapes the scheduler would have built. */
class StepShapeTest {

    /** A first prefill chunk of 100 tokens after 50 cached with an adapter, and decodes at 200 (adapter) and 300. */
    private static StepShape mixed() {
        StepShape s = new StepShape();
        s.addSequence(100, 50, false, true, true, true);
        s.addSequence(1, 200, true, true, false, true);
        s.addSequence(1, 300, true, true, false, false);
        s.distinctAdapters = 1;
        s.adapterRankSum = 16;
        return s;
    }

    @Test
    void aCopyHasEveryFieldOfTheOriginal() {
        StepShape s = mixed();
        // the replica's properties too (clear() keeps them)
        s.loraSlots = 32;
        s.loraSlotRank = 32;
        assertThat(s.copy()).usingRecursiveComparison().isEqualTo(s);
        assertThat(s.copy()).isNotSameAs(s);
        s.clear();
        assertThat(s.loraSlotRank).isEqualTo(32);
    }

    @Test
    void withoutDecodesLeavesThePrefillChunksAsTheSchedulerWouldAddThem() {
        StepShape prefillOnly = new StepShape();
        prefillOnly.addSequence(100, 50, false, true, true, true);
        prefillOnly.distinctAdapters = 1;
        prefillOnly.adapterRankSum = 16;
        assertThat(mixed().withoutDecodes()).usingRecursiveComparison().isEqualTo(prefillOnly);
    }

    @Test
    void decodesOnlyKeepsTheDecodesAndTheBatchsAdapters() {
        StepShape decodes = new StepShape();
        decodes.addSequence(1, 200, true, true, false, true);
        decodes.addSequence(1, 300, true, true, false, false);
        decodes.distinctAdapters = 1;
        decodes.adapterRankSum = 16;
        assertThat(mixed().decodesOnly()).usingRecursiveComparison().isEqualTo(decodes);
    }

    @Test
    void theDecodesShareOfAdapterTokensIsProportionalToTheirTokens() {
        StepShape allAdapters = StepShape.decodeBatch(10, 5);
        allAdapters.adapterTokens = 10;
        assertThat(allAdapters.decodeAdapterTokens()).isEqualTo(10);
        assertThat(StepShape.decodeBatch(10, 5).decodeAdapterTokens()).isZero();
        StepShape s = new StepShape();
        s.addSequence(6, 0, false, true, true, true);
        for (int i = 0; i < 4; i++) {
            s.addSequence(1, 9, true, true, false, i < 2);
        }
        // 8 of the 10 tokens use an adapter; which of them are the decodes' the aggregate does not say
        assertThat(s.decodeAdapterTokens()).isEqualTo(8 * 4 / 10);
    }

    @Test
    void decodesComputingSeveralTokensCountTheirPairsAsAChunkAfterTheirContext() {
        StepShape s = mixed();
        assertThat(s.withDecodeTokens(1)).usingRecursiveComparison().isEqualTo(s);
        StepShape three = s.withDecodeTokens(3);
        assertThat(three.newTokens).isEqualTo(100 + 2 * 3);
        assertThat(three.sampledTokens).isEqualTo(1 + 2 * 3);
        assertThat(three.kvReadTokens).isEqualTo(150 + 203 + 303);
        // n·c + n(n+1)/2 for 3 tokens after 200 and after 300 cached
        assertThat(three.decodeContextTokens).isEqualTo(3 * 200 + 6 + 3 * 300 + 6);
        assertThat(three.prefillAttentionPairs).isEqualTo(s.prefillAttentionPairs);
        assertThat(three.adapterTokens).isEqualTo(100 + 3);
        assertThat(three.decodeSequences).isEqualTo(2);
        assertThat(three.sequences).isEqualTo(3);
    }
}
