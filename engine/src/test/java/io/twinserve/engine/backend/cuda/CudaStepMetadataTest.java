package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.backend.ForwardBatch;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** A mixed prefill/decode step packed for the device, checked entry by entry. */
class CudaStepMetadataTest {

    private static int[] section(CudaStepMetadata m, int offset, int length) {
        return Arrays.copyOfRange(m.data(), offset, offset + length);
    }

    @Test
    void aPrefillChunkAndADecodePackAsWorkedByHand() {
        ForwardBatch b = new ForwardBatch();
        // A: a prefill chunk of 3 tokens at positions 6..8, adapter slot 2, blocks of 4: [7, 2, 9]
        b.add(new int[] {11, 12, 13}, 0, 3, 6, 2, new int[] {7, 2, 9}, 3, true);
        // B: one decode token at position 4, no adapter, blocks [5, 1], no logits wanted
        b.add(new int[] {99}, 0, 1, 4, -1, new int[] {5, 1}, 2, false);
        b.assignLogitRows();
        CudaStepMetadata m = new CudaStepMetadata();
        m.pack(b, 4);

        assertThat(m.tokens()).isEqualTo(4);
        assertThat(m.maxBlocks()).isEqualTo(3);
        assertThat(m.logitRows()).isEqualTo(1);
        assertThat(section(m, m.tokenIdsOffset(), 4)).containsExactly(11, 12, 13, 99);
        assertThat(section(m, m.positionsOffset(), 4)).containsExactly(6, 7, 8, 4);
        // position 6 -> block 1 of A (2), offset 2: 2*4+2; 7 -> 11; 8 -> block 2 (9), offset 0: 36; B's 4 -> block 1
        // (1): 4
        assertThat(section(m, m.slotMappingOffset(), 4)).containsExactly(10, 11, 36, 4);
        assertThat(section(m, m.adapterSlotsOffset(), 4)).containsExactly(2, 2, 2, -1);
        // causal: each prefill token sees the positions up to its own
        assertThat(section(m, m.contextLensOffset(), 4)).containsExactly(7, 8, 9, 5);
        assertThat(section(m, m.blockTablesOffset(), 12)).containsExactly(7, 2, 9, 7, 2, 9, 7, 2, 9, 5, 1, 0);
        // A's last token (index 2) gives logit row 0
        assertThat(section(m, m.logitTokensOffset(), 1)).containsExactly(2);
        // without prefill tiles the row kernel attends every row
        assertThat(m.attentionRows()).isEqualTo(4);
        assertThat(section(m, m.attentionRowsOffset(), 4)).containsExactly(0, 1, 2, 3);
        assertThat(m.prefillTiles()).isZero();
        assertThat(m.size()).isEqualTo(5 * 4 + 12 + 1 + 4);
    }

    @Test
    void prefillChunksAreCutIntoTilesOfSixteenRowsAndDecodeRowsAreListed() {
        ForwardBatch b = new ForwardBatch();
        // A: a decode; B: a prefill chunk of 37 tokens (tiles of 16, 16, 5); C: a decode; D: a chunk of 2 tokens
        b.add(new int[] {1}, 0, 1, 3, -1, new int[] {0}, 1, true);
        int[] ids = new int[37];
        b.add(ids, 0, 37, 10, 0, new int[] {1, 2, 3}, 3, true);
        b.add(new int[] {2}, 0, 1, 7, -1, new int[] {4, 5}, 2, true);
        b.add(new int[] {3, 4}, 0, 2, 0, -1, new int[] {6}, 1, true);
        b.assignLogitRows();
        CudaStepMetadata m = new CudaStepMetadata();
        m.pack(b, 16, true);
        assertThat(m.tokens()).isEqualTo(41);
        assertThat(m.attentionRows()).isEqualTo(2);
        assertThat(section(m, m.attentionRowsOffset(), 2)).containsExactly(0, 38);
        assertThat(m.prefillTiles()).isEqualTo(4);
        // first row and row count of each tile: B's rows are 1..37, D's 39 and 40
        assertThat(section(m, m.prefillTilesOffset(), 8)).containsExactly(1, 16, 17, 16, 33, 5, 39, 2);
        assertThat(m.size()).isEqualTo(5 * 41 + 41 * 3 + 4 + 2 + 8);
        // a tile's rows attend causally from its first row's length on, one more each
        assertThat(section(m, m.contextLensOffset() + 1, 3)).containsExactly(11, 12, 13);
    }

    /**
     * On random mixed steps, what ts_prefill_attention relies on: every row is attended once, by the row kernel's
     * list or by exactly one tile; a tile's rows are one sequence's, consecutive, at most 16, with context lengths
     * one apart from its first row's, and share its block table.
     */
    @Test
    void tilesAndTheRowListCoverEveryRowOnceAndATileIsOneSequencesConsecutiveRows() {
        java.util.Random random = new java.util.Random(8);
        CudaStepMetadata m = new CudaStepMetadata();
        for (int trial = 0; trial < 200; trial++) {
            ForwardBatch b = new ForwardBatch();
            int sequences = 1 + random.nextInt(8);
            for (int s = 0; s < sequences; s++) {
                int count = random.nextBoolean() ? 1 : 1 + random.nextInt(50);
                int position = random.nextInt(100);
                int blocks = (position + count + 15) / 16;
                int[] table = new int[blocks];
                for (int i = 0; i < blocks; i++) {
                    table[i] = random.nextInt(1000);
                }
                b.add(new int[count], 0, count, position, -1, table, blocks, random.nextBoolean());
            }
            b.assignLogitRows();
            boolean tiles = random.nextBoolean();
            m.pack(b, 16, tiles);
            int[] d = m.data();
            int[] seen = new int[m.tokens()];
            for (int i = 0; i < m.attentionRows(); i++) {
                seen[d[m.attentionRowsOffset() + i]]++;
            }
            for (int i = 0; i < m.prefillTiles(); i++) {
                int first = d[m.prefillTilesOffset() + 2 * i];
                int rows = d[m.prefillTilesOffset() + 2 * i + 1];
                assertThat(rows).as("trial %d, tile %d", trial, i).isBetween(1, CudaStepMetadata.PREFILL_TILE_ROWS);
                for (int r = first; r < first + rows; r++) {
                    seen[r]++;
                    assertThat(b.tokenSequence(r)).isEqualTo(b.tokenSequence(first));
                    assertThat(d[m.contextLensOffset() + r]).isEqualTo(d[m.contextLensOffset() + first] + (r - first));
                    assertThat(section(m, m.blockTablesOffset() + r * m.maxBlocks(), m.maxBlocks()))
                            .containsExactly(section(m, m.blockTablesOffset() + first * m.maxBlocks(), m.maxBlocks()));
                }
            }
            for (int r = 0; r < m.tokens(); r++) {
                assertThat(seen[r])
                        .as("trial %d, row %d attended once", trial, r)
                        .isEqualTo(1);
            }
            if (!tiles) {
                assertThat(m.prefillTiles()).isZero();
            }
        }
    }

    @Test
    void allLogitsListsEveryTokenAndTheArraysAreReused() {
        ForwardBatch b = new ForwardBatch();
        b.allLogits(true);
        b.add(new int[] {1, 2}, 0, 2, 0, 0, new int[] {3}, 1, true);
        b.add(new int[] {5}, 0, 1, 9, 1, new int[] {4, 6, 8}, 3, true);
        b.assignLogitRows();
        CudaStepMetadata m = new CudaStepMetadata();
        m.pack(b, 4);
        int[] first = m.data();
        assertThat(section(m, m.logitTokensOffset(), 3)).containsExactly(0, 1, 2);
        // the shorter block table is padded with block 0 (never read: its context stops before)
        assertThat(section(m, m.blockTablesOffset(), 9)).containsExactly(3, 0, 0, 3, 0, 0, 4, 6, 8);
        b.clear();
        b.add(new int[] {7}, 0, 1, 2, -1, new int[] {3}, 1, true);
        b.assignLogitRows();
        m.pack(b, 4);
        assertThat(m.data()).isSameAs(first);
        assertThat(section(m, 0, m.size())).containsExactly(7, 2, 14, -1, 3, 3, 0, 0);
    }
}
