package io.twinserve.twin.calibrate;

/**
 * The benchmark client's own time around a burst: {@code n} requests sent at once reach the engine
 * {@code beforeS(n)} after the client starts its clock, and the client stops it {@code afterS(n, outputTokens)} after
 * the engine's last token. Both grow with the requests beyond the first (a lone request's time outside the engine
 * is the twin's request latency, fitted on the lone requests).
 *
 * <p>Read from the long prefill bursts, where it shows plainly: every request has one output token and the same
 * prompt, so the engine drains the queue at a constant rate and a request's TTFT is {@code d + (i / n) E} for the
 * i-th of n. Then the median is {@code d + E / 2} and the 99th percentile {@code d + 0.99 E}, so {@code E =
 * (p99 - median) / 0.49} and {@code d = median - E / 2}; what the duration holds beyond {@code d + E} is the time
 * after. In the twelve Llama bursts E comes within 0.7 s of the span over which the server's gauges saw requests,
 * and d is 3.9-5.0 s for 4,096 requests (about 1 ms a request, as in the decode bursts' first waves), after
 * 1.7-2.1 s. Without it the fit priced that time as a cost per new request inside the engine's steps (1.5 ms),
 * which made steps that admit hundreds of requests (the decode bursts' waves) far too long.
 *
 * <p>The time after is read from one-token bursts and counted for them alone. Read the same way from the waves of the
 * decode and LoRA bursts (a request's TTFT d + (i / n) E', where E' is the span less one request's decoding), it comes
 * to about 1 s for the decode bursts of 100 output tokens (0.1-0.3 ms a request), -3.1 to +1.3 s for the LoRA bursts
 * of 100 (below 0 on average) and below 0 for longer outputs, where the reading fails: a burst of many-token answers
 * shows no time after its last token that a model could stand on, and counting the one-token bursts' 0.47 ms a
 * request there made their replayed throughput 2% low on the whole.
 *
 * @param beforePerRequestS seconds per request beyond the first before the engine sees the burst
 * @param afterPerRequestS seconds per request beyond the first after the engine's last token
 * @param runs the bursts it was read from (0: no such burst, no client time)
 */
record BurstClient(double beforePerRequestS, double afterPerRequestS, int runs) {

    /** No client time: a measurement set without long bursts to read it from. */
    static final BurstClient NONE = new BurstClient(0, 0, 0);

    /** Seconds between the client's start and the engine seeing a burst of {@code n} requests. */
    double beforeS(double n) {
        return beforePerRequestS * Math.max(0, n - 1);
    }

    /**
     * Seconds the client's duration holds after the engine's last token of a burst of {@code n} requests of
     * {@code outputTokens} tokens each (0 for answers of more than one token: see above).
     */
    double afterS(double n, double outputTokens) {
        return outputTokens > 1 ? 0 : afterPerRequestS * Math.max(0, n - 1);
    }

    /** Both. */
    double totalS(double n, double outputTokens) {
        return beforeS(n) + afterS(n, outputTokens);
    }

    /**
     * Reads the client's time from the prefill bursts of every model (one client drove them all) that last many
     * steps ({@code requests x prompt > 4 budget}): least squares through the origin on the requests beyond the
     * first, a negative reading kept as 0.
     */
    static BurstClient fit(Csv prefill, int budget) {
        if (prefill == null) {
            return NONE;
        }
        double sxx = 0;
        double sxd = 0;
        double sxa = 0;
        int runs = 0;
        for (int i = 0; i < prefill.size(); i++) {
            double n = prefill.number(i, "requests_sent");
            double prompt = prefill.number(i, "mean_prompt_tokens");
            if (n * prompt <= 4.0 * budget
                    || prefill.text(i, "median_ttft_ms").isEmpty()
                    || prefill.text(i, "p99_ttft_ms").isEmpty()) {
                continue;
            }
            double median = prefill.number(i, "median_ttft_ms") / 1e3;
            double p99 = prefill.number(i, "p99_ttft_ms") / 1e3;
            double span = (p99 - median) / 0.49;
            double before = median - span / 2;
            double after = prefill.number(i, "duration_s") - before - span;
            double x = n - 1;
            sxx += x * x;
            sxd += x * before;
            sxa += x * after;
            runs++;
        }
        if (runs == 0) {
            return NONE;
        }
        return new BurstClient(Math.max(0, sxd / sxx), Math.max(0, sxa / sxx), runs);
    }
}
