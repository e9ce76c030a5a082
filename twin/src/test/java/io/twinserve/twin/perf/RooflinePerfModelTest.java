package io.twinserve.twin.perf;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The roofline's tensor-parallel all-reduces and its fp8 weights and KV cache. */
class RooflinePerfModelTest {
    private static final Profiles PROFILES = Profiles.builtIn();
    private static final GpuProfile H100 = PROFILES.gpu("h100-sxm-80gb");
    private static final GpuProfile A100 = PROFILES.gpu("a100-sxm-80gb");
    private static final ModelProfile LLAMA_8B = PROFILES.model("llama-3.1-8b");
    private static final ModelProfile LLAMA_70B = PROFILES.model("llama-3.1-70b");
    private static final RooflineParams PARAMS = RooflineParams.defaults();
    private static final AllReduceModel FREE = (bytes, gpus) -> 0;

    /** A prefill chunk of {@code tokens} after {@code cached} and {@code decodes} decodes at a context of 2,000. */
    private static StepShape mixed(int tokens, long cached, int decodes) {
        StepShape s = new StepShape();
        s.addSequence(tokens, cached, false, true, true, false);
        for (int i = 0; i < decodes; i++) {
            s.addSequence(1, 2_000, true, true, false, false);
        }
        return s;
    }

    @Test
    void theLinearTokenOffsetRaisesOnlyTheComputeBoundLineAndNotAnEmptyStep() {
        RooflinePerfModel plain = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS);
        RooflinePerfModel offset = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS.with(Term.LINEAR_TOKEN_OFFSET, 100));
        assertThat(offset.linearNs(0)).as("no tokens, no GEMM compute").isEqualTo(plain.linearNs(0));
        // a lone decode reads the weights: memory-bound either way (101 tokens' FLOPs take less than the read)
        assertThat(offset.linearNs(1)).isEqualTo(plain.linearNs(1));
        // far past the ridge the line is the plain one 100 tokens later
        assertThat(offset.linearNs(4_000)).isCloseTo(plain.linearNs(4_100), within(1e-6));
        assertThat(offset.linearNs(4_000)).isGreaterThan(plain.linearNs(4_000));
        assertThatThrownBy(() -> PARAMS.with(Term.LINEAR_TOKEN_OFFSET, -1)).hasMessageContaining("linear_token_offset");
    }

    @Test
    void aStepOfMoreTokensThanTheLargestCapturedGraphPaysTheEagerCostOnce() {
        RooflinePerfModel plain = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS);
        RooflinePerfModel eager = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS.with(Term.EAGER_STEP_NS, 2_000_000));
        StepShape atGraph = mixed(RooflinePerfModel.GRAPH_MAX_TOKENS - 4, 0, 4);
        StepShape above = mixed(RooflinePerfModel.GRAPH_MAX_TOKENS - 3, 0, 4);
        assertThat(eager.stepNs(atGraph)).as("512 tokens: a captured graph").isEqualTo(plain.stepNs(atGraph));
        assertThat(eager.stepNs(above) - plain.stepNs(above)).isCloseTo(2_000_000L, within(1L));
    }

    @Test
    void everyAdapterHeldInASlotCostsItsShareOfALoraStepWhetherInTheBatchOrNot() {
        RooflineParams p = PARAMS.with(Term.LORA_PER_LOADED_ADAPTER_NS, 20_000);
        RooflinePerfModel perf = new RooflinePerfModel(LLAMA_8B, H100, 1, p);
        StepShape s = mixed(0, 100, 4);
        s.loraSlots = 64;
        s.loadedAdapters = 0;
        long none = perf.stepNs(s);
        s.loadedAdapters = 50;
        assertThat(perf.stepNs(s) - none).isCloseTo(50 * 20_000L, within(1L));
        s.loraSlots = 0;
        long disabled = perf.stepNs(s);
        s.loadedAdapters = 0;
        assertThat(perf.stepNs(s))
                .as("LoRA disabled: no slot holds anything to pay for")
                .isEqualTo(disabled);
    }

    @Test
    void aDecodeAttentionEfficiencyPricesTheDecodesPairsAloneAndZeroKeepsOneRate() {
        // a long prefill chunk's pairs keep the attention compute-bound (decodes alone read more than they compute)
        StepShape s = mixed(8_192, 0, 64);
        RooflinePerfModel one = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS, FREE);
        RooflinePerfModel same = new RooflinePerfModel(
                LLAMA_8B,
                H100,
                1,
                PARAMS.with(Term.DECODE_ATTENTION_FLOPS_EFFICIENCY, PARAMS.attentionFlopsEfficiency()),
                FREE);
        RooflinePerfModel slower = new RooflinePerfModel(
                LLAMA_8B,
                H100,
                1,
                PARAMS.with(Term.DECODE_ATTENTION_FLOPS_EFFICIENCY, PARAMS.attentionFlopsEfficiency() / 3),
                FREE);
        assertThat(PARAMS.decodeAttentionFlopsEfficiency()).isZero();
        assertThat((double) same.stepNs(s)).isCloseTo(one.stepNs(s), within(2.0));
        // a third of the rate: the decodes' attention FLOPs take three times as long, the prefill's unchanged
        double flopsPerPair = 4.0 * LLAMA_8B.layers() * LLAMA_8B.heads() * LLAMA_8B.headDim();
        double decodeNs =
                flopsPerPair * s.decodeContextTokens / (H100.bf16Flops() * PARAMS.attentionFlopsEfficiency()) * 1e9;
        assertThat((double) (slower.stepNs(s) - one.stepNs(s))).isCloseTo(2 * decodeNs, within(2.0));
    }

    @Test
    void thePerTokenRankLoraTermChargesEachAdapterTokenTheBatchsMeanRank() {
        RooflineParams perTokenRank = PARAMS.with(Term.LORA_PER_TOKEN_RANK_NS, 1_000);
        RooflinePerfModel without = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS);
        RooflinePerfModel with = new RooflinePerfModel(LLAMA_8B, H100, 1, perTokenRank);
        // 10 decodes, 6 of them on two adapters of ranks 8 and 24 (mean 16), and a base-model prefill chunk
        StepShape s = new StepShape();
        for (int i = 0; i < 10; i++) {
            s.addSequence(1, 500, true, true, false, i < 6);
        }
        s.addSequence(100, 0, false, true, true, false);
        s.distinctAdapters = 2;
        s.adapterRankSum = 8 + 24;
        assertThat(with.stepNs(s) - without.stepNs(s)).isCloseTo(6 * 16 * 1_000, within(1L));
        // without adapters the term is absent
        StepShape base = StepShape.decodeBatch(10, 500);
        assertThat(with.stepNs(base)).isEqualTo(without.stepNs(base));
        assertThat(PARAMS.loraPerTokenRankNs())
                .as("GPU defaults leave it to the FLOP term")
                .isZero();
    }

    @Test
    void theDefaultAllReduceReproducesTheFormerInlineFormulaBitForBit() {
        int hidden = LLAMA_70B.hiddenSize();
        // as RooflinePerfModel priced an all-reduce before it took an AllReduceModel
        AllReduceModel former = (bytes, tp) -> {
            double bytesPerToken = (double) hidden * 2 * 2.0 * (tp - 1) / tp;
            return 8_000 + bytesPerToken * (bytes / (hidden * 2L)) / H100.interconnectBandwidth() * 1e9;
        };
        for (int tp : new int[] {2, 4, 8}) {
            RooflinePerfModel current = new RooflinePerfModel(LLAMA_70B, H100, tp, PARAMS);
            RooflinePerfModel reference = new RooflinePerfModel(LLAMA_70B, H100, tp, PARAMS, former);
            for (StepShape s : new StepShape[] {
                StepShape.decodeBatch(1, 100),
                StepShape.decodeBatch(256, 3_000),
                mixed(2_048, 0, 0),
                mixed(1_537, 4_000, 77),
                mixed(8_192, 100_000, 255)
            }) {
                assertThat(current.stepNs(s))
                        .as("tp %d, %d new tokens", tp, s.newTokens)
                        .isEqualTo(reference.stepNs(s));
                assertThat(current.allReduceNs(s.newTokens))
                        .isEqualTo(former.allReduceNs((long) s.newTokens * hidden * 2, tp));
            }
        }
    }

    @Test
    void theAllReduceTermGrowsWithTheTokensAndWithTheTensorParallelDegree() {
        long[] previousByTp = new long[9];
        for (int tp : new int[] {2, 4, 8}) {
            RooflinePerfModel priced = new RooflinePerfModel(LLAMA_70B, H100, tp, PARAMS);
            RooflinePerfModel free = new RooflinePerfModel(LLAMA_70B, H100, tp, PARAMS, FREE);
            long previous = 0;
            for (int tokens : new int[] {1, 64, 512, 4_096}) {
                StepShape s = mixed(tokens, 0, 0);
                long allReduceNs = priced.stepNs(s) - free.stepNs(s);
                // two all-reduces per layer, each of the tokens' hidden states
                assertThat((double) allReduceNs).isCloseTo(2.0 * 80 * priced.allReduceNs(tokens), within(1.0));
                assertThat(allReduceNs).as("tp %d, %d tokens", tp, tokens).isGreaterThan(previous);
                previous = allReduceNs;
            }
            assertThat(previous).as("4,096 tokens at tp %d", tp).isGreaterThan(previousByTp[tp / 2]);
            previousByTp[tp] = previous;
        }
        RooflinePerfModel single = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS);
        RooflinePerfModel singleFree = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS, FREE);
        assertThat(single.stepNs(mixed(4_096, 0, 0)))
                .as("one GPU has no all-reduce")
                .isEqualTo(singleFree.stepNs(mixed(4_096, 0, 0)));
    }

    @Test
    void fp8WeightsMakeAMemoryBoundDecodeStepFaster() {
        ModelProfile fp8 = LLAMA_8B.withDtypes("fp8", "bf16");
        RooflinePerfModel bf16Model = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS);
        RooflinePerfModel fp8Model = new RooflinePerfModel(fp8, H100, 1, PARAMS);
        StepShape decode = StepShape.decodeBatch(16, 1_000);
        assertThat(fp8Model.stepNs(decode)).isLessThan(bf16Model.stepNs(decode));
        // a small batch's linear layers read the weights: half the bytes, about half the time
        assertThat(fp8Model.linearNs(16) / bf16Model.linearNs(16)).isCloseTo(0.5, within(0.01));
    }

    @Test
    void aLargePrefillChunkRunsAtFp8FlopsOnH100ButAtBf16FlopsOnA100() {
        ModelProfile fp8 = LLAMA_8B.withDtypes("fp8", "bf16");
        double h100Ratio = new RooflinePerfModel(fp8, H100, 1, PARAMS).linearNs(8_192)
                / new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS).linearNs(8_192);
        double a100Ratio = new RooflinePerfModel(fp8, A100, 1, PARAMS).linearNs(8_192)
                / new RooflinePerfModel(LLAMA_8B, A100, 1, PARAMS).linearNs(8_192);
        // H100: 1,979 fp8 TFLOP/s against 989 bf16; A100 has no fp8 tensor cores, so the weights are upcast
        assertThat(h100Ratio).isCloseTo(H100.bf16Flops() / H100.fp8Flops(), within(1e-9));
        assertThat(a100Ratio).isEqualTo(1.0);
        assertThat(A100.fp8Flops()).isZero();
    }

    @Test
    void anFp8KvCacheHalvesTheBytesThatLongContextAttentionReads() {
        ModelProfile fp8Kv = LLAMA_8B.withDtypes("bf16", "fp8");
        assertThat(fp8Kv.kvBytesPerToken()).isEqualTo(LLAMA_8B.kvBytesPerToken() / 2);
        RooflinePerfModel bf16Model = new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS);
        RooflinePerfModel fp8KvModel = new RooflinePerfModel(fp8Kv, H100, 1, PARAMS);
        StepShape longContext = StepShape.decodeBatch(64, 30_000);
        StepShape shortContext = StepShape.decodeBatch(64, 10);
        long attentionBf16 = bf16Model.stepNs(longContext) - bf16Model.stepNs(shortContext);
        long attentionFp8 = fp8KvModel.stepNs(longContext) - fp8KvModel.stepNs(shortContext);
        assertThat((double) attentionFp8 / attentionBf16).isCloseTo(0.5, within(0.01));
        assertThat(fp8KvModel.linearNs(64)).as("the weights are untouched").isEqualTo(bf16Model.linearNs(64));
    }

    @Test
    void loraCostsGrowWithSlotsTokensAndDistinctAdaptersAndTheQueueCostsPerWaitingRequest() {
        RooflineParams p = PARAMS.with(
                List.of(
                        Term.LORA_FIXED_NS,
                        Term.LORA_PER_ADAPTER_NS,
                        Term.LORA_PER_RANK_NS,
                        Term.LORA_ENABLED_NS,
                        Term.LORA_PER_SLOT_NS,
                        Term.LORA_PER_TOKEN_ADAPTER_NS,
                        Term.PER_WAITING_NS,
                        Term.PER_BLOCKED_WAITING_NS),
                new double[] {0, 0, 0, 1_000_000, 20_000, 300, 10, 200});
        RooflinePerfModel m = new RooflinePerfModel(LLAMA_8B, H100, 1, p, FREE);
        StepShape base = StepShape.decodeBatch(100, 500);
        long plain = m.stepNs(base);
        // LoRA enabled on 64 slots, no adapter in the batch: the enabled step and its slots
        StepShape enabled = base.copy();
        enabled.loraSlots = 64;
        assertThat((double) (m.stepNs(enabled) - plain)).isCloseTo(1_000_000 + 64 * 20_000, within(2.0));
        // 100 adapter tokens of 8 distinct adapters: 300 ns per token and distinct adapter, on top of the roofline's
        // LoRA FLOPs and weight reads (isolated by pricing 8 and 16 adapters of rank 0)
        StepShape eight = enabled.copy();
        eight.adapterTokens = 100;
        eight.distinctAdapters = 8;
        StepShape sixteen = eight.copy();
        sixteen.distinctAdapters = 16;
        assertThat((double) (m.stepNs(sixteen) - m.stepNs(eight))).isCloseTo(100 * 8 * 300, within(2.0));
        // 1,000 waiting: 10 ns each, and 200 more each while every slot is pinned
        StepShape waiting = base.copy();
        waiting.waitingSequences = 1_000;
        assertThat((double) (m.stepNs(waiting) - plain)).isCloseTo(10_000, within(2.0));
        waiting.slotsBlocked = true;
        assertThat((double) (m.stepNs(waiting) - plain)).isCloseTo(210_000, within(2.0));
    }

    @Test
    void theLoraKernelsLaunchTilesOfTheStepsTokensForEverySlot() {
        RooflinePerfModel m =
                new RooflinePerfModel(LLAMA_8B, H100, 1, PARAMS.with(Term.LORA_PER_SLOT_TILE_NS, 1.0), FREE);
        // Llama-3.1-8B, per layer: 7 target projections; expand tiles of 128 columns: q 32, k 8, v 8, o 32,
        // gate 112, up 112, down 32 = 336
        // a lone decode: split-K 64 x 1 x 7 shrink tiles + 1 x 336 expand tiles, over 32 layers
        assertThat(m.loraTilesPerSlot(1, 8)).isEqualTo(32L * (64 * 7 + 336));
        // 127 tokens: still split 64 ways, 4 shrink tiles of 32 tokens, 2 expand tiles of 64
        assertThat(m.loraTilesPerSlot(127, 8)).isEqualTo(32L * (64 * 4 * 7 + 2 * 336));
        // from 128 tokens the shrink splits 8 ways: fewer tiles for more tokens
        assertThat(m.loraTilesPerSlot(128, 8)).isEqualTo(32L * (8 * 4 * 7 + 2 * 336));
        assertThat(m.loraTilesPerSlot(128, 8)).isLessThan(m.loraTilesPerSlot(127, 8));
        assertThat(m.loraTilesPerSlot(2048, 8)).isEqualTo(32L * (8 * 64 * 7 + 32 * 336));
        assertThat(m.loraTilesPerSlot(0, 8)).isZero();
        // the shrink tiles the rank by 16: slots of rank 16 launch as many tiles as rank 8 (or an unknown rank), rank
        // 32 twice the shrink's
        assertThat(m.loraTilesPerSlot(1, 16))
                .isEqualTo(m.loraTilesPerSlot(1, 8))
                .isEqualTo(m.loraTilesPerSlot(1, 0));
        assertThat(m.loraTilesPerSlot(1, 32)).isEqualTo(32L * (64 * 2 * 7 + 336));
        // priced per slot and tile, only with LoRA enabled
        StepShape base = StepShape.decodeBatch(100, 500);
        long plain = m.stepNs(base);
        StepShape enabled = base.copy();
        enabled.loraSlots = 64;
        enabled.loraSlotRank = 8;
        assertThat((double) (m.stepNs(enabled) - plain)).isCloseTo(64.0 * m.loraTilesPerSlot(100, 8), within(2.0));
        enabled.loraSlotRank = 32;
        assertThat((double) (m.stepNs(enabled) - plain)).isCloseTo(64.0 * m.loraTilesPerSlot(100, 32), within(2.0));
        // at tp 2 the column-parallel projections' expand tiles halve on each GPU (q 16, k 4, v 4, gate 56, up 56),
        // the row-parallel ones (o, down) write the whole hidden state
        RooflinePerfModel tp2 =
                new RooflinePerfModel(LLAMA_8B, H100, 2, PARAMS.with(Term.LORA_PER_SLOT_TILE_NS, 1.0), FREE);
        assertThat(tp2.loraTilesPerSlot(1, 8)).isEqualTo(32L * (64 * 7 + 16 + 4 + 4 + 32 + 56 + 56 + 32));
    }
}
