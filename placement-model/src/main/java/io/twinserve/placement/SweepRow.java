package io.twinserve.placement;

import com.fasterxml.jackson.annotation.JsonPropertyOrder;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.slo.SloVerdict;

/**
 * One dataset row: a scenario's workload features, its configuration and what the twin measured.
 * Throughputs are tokens (input + output) per second of requests finished in the measured window.
 *
 * @param tierSkew popularity within each tier ({@link SweepSpec#tierSkew}; 0: even)
 * @param fits whether the configuration starts (memory check); when false only {@code note} explains
 * @param stoppedAtS when the run stopped early because its starvation was settled (0 when it ran the
 *     whole window): the run's figures are measured over [0, stoppedAtS]
 * @param timedOutFraction the share of arrived requests that timed out (408)
 * @param starvedRequests requests that waited longer than the starvation bound to be first scheduled
 */
@JsonPropertyOrder({
    "scenario",
    "workload",
    "model",
    "pool",
    "gpu",
    "tp",
    "kv_cache_len",
    "served",
    "slots",
    "rate1",
    "rate2",
    "rate3",
    "rank1",
    "rank2",
    "rank3",
    "lengths",
    "prompt_mean",
    "output_mean",
    "cv",
    "tier_skew",
    "fits",
    "note",
    "kv_tokens",
    "cost_per_hour",
    "offered_rps",
    "offered_tps",
    "throughput_tps",
    "starving",
    "stopped_at_s",
    "ttft_p50_ms",
    "ttft_p90_ms",
    "ttft_p99_ms",
    "itl_p50_ms",
    "itl_p99_ms",
    "timed_out_fraction",
    "starved_requests",
    "preemptions",
    "adapter_loads"
})
public record SweepRow(
        long scenario,
        long workload,
        String model,
        String pool,
        String gpu,
        int tp,
        int kvCacheLen,
        int served,
        int slots,
        double rate1,
        double rate2,
        double rate3,
        int rank1,
        int rank2,
        int rank3,
        String lengths,
        double promptMean,
        double outputMean,
        double cv,
        double tierSkew,
        boolean fits,
        String note,
        long kvTokens,
        double costPerHour,
        double offeredRps,
        double offeredTps,
        double throughputTps,
        boolean starving,
        double stoppedAtS,
        double ttftP50Ms,
        double ttftP90Ms,
        double ttftP99Ms,
        double itlP50Ms,
        double itlP99Ms,
        double timedOutFraction,
        long starvedRequests,
        long preemptions,
        long adapterLoads) {

    /** The run judged against {@code slo} (a configuration that does not start meets nothing). */
    public SloVerdict verdict(SloSpec slo) {
        // a configuration that does not start answers nothing: its TTFT bounds miss
        boolean answered = fits && (throughputTps > 0 || offeredTps == 0);
        return SloVerdict.of(
                slo,
                answered,
                ttftP90Ms,
                ttftP99Ms,
                itlP99Ms,
                timedOutFraction,
                offeredTps > 0 ? throughputTps / offeredTps : 1,
                starvedRequests);
    }

    /** Whether the configuration starts and its run meets {@code slo}. */
    public boolean meets(SloSpec slo) {
        return fits && verdict(slo).met();
    }

    /** The workload's identity apart from the served count (the study's family) and the model. */
    public String familyKey() {
        // the skew only when there is one, so that keys (and the folds grouped by them) of even tiers stay as they were
        return model + "|" + lengths + "|" + cv + "|" + rate1 + "|" + rate2 + "|" + rate3 + "|" + rank1 + "|" + rank2
                + "|" + rank3 + (tierSkew == 0 ? "" : "|skew=" + tierSkew);
    }

    /** The configuration apart from the slot count. */
    public String placementKey() {
        return pool + "|" + tp + "|" + kvCacheLen;
    }

    /** The workload including the served count. */
    public String workloadKey() {
        return familyKey() + "|" + served;
    }
}
