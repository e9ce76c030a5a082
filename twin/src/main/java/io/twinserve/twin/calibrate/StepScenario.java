package io.twinserve.twin.calibrate;

import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.perf.StepShape;

/**
 * The typical step of a measured run, as its published means describe it: how many sequences decode at
 * what context, how many prompt tokens are prefilled in the same step, how many requests wait, the
 * replica's adapter slots and the distinct adapters in the batch.
 *
 * <p>Runs that keep receiving requests (Poisson arrivals) prefill {@code arrivalRatePerS · promptTokens}
 * tokens per second, so a step of length T holds that many times T prompt tokens: the step's length is
 * the fixed point of T = price(prefill(T)) + extra, solved by damped iteration.
 *
 * @param decodes mean decoding sequences per step (fractional: priced between the two integer batches)
 * @param context mean context of a decoding sequence, tokens
 * @param prefillTokens prompt tokens prefilled in the step (when {@code arrivalRatePerS} is 0)
 * @param promptTokens prompt length of the requests being prefilled (chunks start at context 0)
 * @param arrivalRatePerS requests per second entering prefill (0: {@code prefillTokens} is fixed)
 * @param waiting requests in the waiting queue
 * @param slots adapter slots reserved (0: LoRA disabled)
 * @param distinctAdapters distinct adapters in the batch (0: no adapter)
 * @param rank rank of the adapters
 * @param extraMs measured time per step outside the model's price (adapter loads), ms
 * @param slotsBlocked whether the waiting requests wait for adapter slots pinned by running requests
 * @param loadedAdapters adapters held in slots, in the batch or not (a run that cycles through n adapters
 *     in at least n slots ends up holding all n)
 * @param slotRank the rank the slots are sized for ({@code max_lora_rank}; 0: unknown, priced as rank 16)
 */
record StepScenario(
        double decodes,
        double context,
        double prefillTokens,
        double promptTokens,
        double arrivalRatePerS,
        double waiting,
        int slots,
        double distinctAdapters,
        int rank,
        double extraMs,
        boolean slotsBlocked,
        double loadedAdapters,
        int slotRank) {

    StepScenario(
            double decodes,
            double context,
            double prefillTokens,
            double promptTokens,
            double arrivalRatePerS,
            double waiting,
            int slots,
            double distinctAdapters,
            int rank,
            double extraMs) {
        this(
                decodes,
                context,
                prefillTokens,
                promptTokens,
                arrivalRatePerS,
                waiting,
                slots,
                distinctAdapters,
                rank,
                extraMs,
                false,
                0,
                0);
    }

    StepScenario(
            double decodes,
            double context,
            double prefillTokens,
            double promptTokens,
            double arrivalRatePerS,
            double waiting,
            int slots,
            double distinctAdapters,
            int rank,
            double extraMs,
            boolean slotsBlocked) {
        this(
                decodes,
                context,
                prefillTokens,
                promptTokens,
                arrivalRatePerS,
                waiting,
                slots,
                distinctAdapters,
                rank,
                extraMs,
                slotsBlocked,
                0,
                0);
    }

    /** This scenario with {@code loaded} adapters held in slots. */
    StepScenario withLoaded(double loaded) {
        return withSlots(loaded, slotRank);
    }

    /** This scenario on slots sized for {@code rank}. */
    StepScenario withSlotRank(int rank) {
        return withSlots(loadedAdapters, rank);
    }

    private StepScenario withSlots(double loaded, int slotsRank) {
        return new StepScenario(
                decodes,
                context,
                prefillTokens,
                promptTokens,
                arrivalRatePerS,
                waiting,
                slots,
                distinctAdapters,
                rank,
                extraMs,
                slotsBlocked,
                loaded,
                slotsRank);
    }

    static StepScenario decode(double decodes, double context, double waiting, int slots, double distinct, int rank) {
        return new StepScenario(decodes, context, 0, 0, 0, waiting, slots, distinct, rank, 0);
    }

    /** The step's length in ms under {@code perf}. */
    double stepMs(RooflinePerfModel perf) {
        if (arrivalRatePerS <= 0) {
            return priceMs(perf, prefillTokens) + extraMs;
        }
        double t = priceMs(perf, 0) + extraMs;
        for (int i = 0; i < 40; i++) {
            double next = priceMs(perf, arrivalRatePerS * promptTokens * t / 1e3) + extraMs;
            if (Math.abs(next - t) < 1e-9 * t) {
                return next;
            }
            t = 0.5 * (t + next);
        }
        return t;
    }

    private double priceMs(RooflinePerfModel perf, double prefill) {
        int lo = (int) Math.floor(decodes);
        double a = perf.stepNs(shape(lo, prefill));
        if (decodes == lo) {
            return a / 1e6;
        }
        double b = perf.stepNs(shape(lo + 1, prefill));
        return (a + (b - a) * (decodes - lo)) / 1e6;
    }

    private StepShape shape(int b, double prefill) {
        // counted directly rather than sequence by sequence: the fit prices millions of these
        StepShape s = new StepShape();
        long c = Math.round(context);
        s.sequences = b;
        s.newTokens = b;
        s.decodeSequences = b;
        s.decodeContextTokens = b * (c + 1);
        s.kvReadTokens = b * (c + 1);
        s.sampledTokens = b;
        int tokens = (int) Math.round(prefill);
        if (tokens > 0) {
            // whole prompts from context 0; the last one a partial chunk
            long p = Math.max(1, Math.round(promptTokens));
            long full = tokens / p;
            long rest = tokens % p;
            s.sequences += (int) (full + (rest > 0 ? 1 : 0));
            s.newRequests += (int) (full + (rest > 0 ? 1 : 0));
            s.newTokens += tokens;
            s.kvReadTokens += tokens;
            s.sampledTokens += (int) full;
            s.prefillAttentionPairs += full * p * (p + 1) / 2 + rest * (rest + 1) / 2;
        }
        if (distinctAdapters > 0) {
            s.adapterTokens = s.newTokens;
            s.distinctAdapters = (int) Math.max(1, Math.round(distinctAdapters));
            s.adapterRankSum = (long) s.distinctAdapters * rank;
        } else {
            s.adapterTokens = 0;
        }
        s.waitingSequences = Math.round(waiting);
        s.slotsBlocked = slotsBlocked;
        s.loraSlots = slots;
        s.loraSlotRank = slotRank;
        s.loadedAdapters = (int) Math.round(loadedAdapters);
        return s;
    }

    /** Prompt tokens per second this scenario prefills, given its step length. */
    double prefillTokensPerS(double stepMs) {
        return (arrivalRatePerS > 0 ? arrivalRatePerS * promptTokens * stepMs / 1e3 : prefillTokens) / stepMs * 1e3;
    }
}
