package io.twinserve.twin.client;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.traces.Request;
import io.twinserve.traces.gen.ThinkTimes;
import io.twinserve.traces.spec.ClientSpec;
import io.twinserve.traces.spec.DistributionSpec;
import io.twinserve.twin.metrics.ClientSummary;
import java.io.IOException;
import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;

/**
 * The gate against a toy server that answers each request after a random service time: the cap holds at
 * every instant, sends keep the intended order, nothing is lost or sent twice, and a closed loop's users
 * each wait for their answer and think before sending again.
 */
class ClientGatePropertyTest {

    /** What a run of the toy server saw, per request id. */
    record Run(long[] intended, long[] sent, long[] ended, int maxInFlight, long ends, ClientSummary summary) {}

    static Run serve(ClientGate gate, int n, long seed) throws IOException {
        SplittableRandom rng = new SplittableRandom(seed);
        long[] intended = new long[n];
        long[] sent = new long[n];
        long[] ended = new long[n];
        Arrays.fill(sent, -1);
        Arrays.fill(ended, -1);
        PriorityQueue<long[]> inFlight =
                new PriorityQueue<>((a, b) -> a[0] != b[0] ? Long.compare(a[0], b[0]) : Long.compare(a[1], b[1]));
        int maxInFlight = 0;
        long ends = 0;
        while (true) {
            long send = gate.nextSendNs();
            long end = inFlight.isEmpty() ? Long.MAX_VALUE : inFlight.peek()[0];
            if (send == Long.MAX_VALUE && end == Long.MAX_VALUE) {
                break;
            }
            if (end <= send) {
                long[] e = inFlight.poll();
                assertThat(ended[(int) e[1]]).as("request %d ends once", e[1]).isEqualTo(-1);
                ended[(int) e[1]] = e[0];
                ends++;
                gate.ended(e[0]);
                continue;
            }
            Request r = gate.take();
            int id = (int) r.id();
            assertThat(sent[id]).as("request %d sent once", id).isEqualTo(-1);
            sent[id] = send;
            intended[id] = gate.intendedNs();
            // some requests are refused at once (they end as they arrive), the rest take up to 3 s
            long service = rng.nextInt(5) == 0 ? 0 : rng.nextLong(3_000_000_000L);
            inFlight.add(new long[] {send + service, id});
            maxInFlight = Math.max(maxInFlight, inFlight.size());
            assertThat(gate.outstanding()).isEqualTo(inFlight.size());
        }
        return new Run(intended, sent, ended, maxInFlight, ends, gate.summary(Long.MAX_VALUE));
    }

    static long[] arrivals(int n, long seed, long meanGapNs) {
        SplittableRandom rng = new SplittableRandom(seed ^ 0x5DEECE66DL);
        long[] out = new long[n];
        long t = 0;
        for (int i = 0; i < n; i++) {
            // bursts of equal arrival times as well as gaps
            t += rng.nextInt(4) == 0 ? 0 : rng.nextLong(meanGapNs * 2);
            out[i] = t;
        }
        return out;
    }

    @Property(tries = 200, seed = "20250116")
    void capHoldsAtEveryInstantSendsStayInOrderAndEveryRequestEndsOnce(
            @ForAll @IntRange(min = 1, max = 60) int n,
            @ForAll @IntRange(min = 1, max = 6) int cap,
            @ForAll @LongRange(min = 10_000_000L, max = 2_000_000_000L) long meanGapNs,
            @ForAll long seed)
            throws IOException {
        long[] arrivals = arrivals(n, seed, meanGapNs);
        Run run = serve(ClientGate.of(ClientGateTest.trace(arrivals), ClientSpec.capped(cap), null), n, seed);

        assertThat(run.maxInFlight()).isLessThanOrEqualTo(cap);
        assertThat(run.ends()).isEqualTo(n);
        long waited = 0;
        for (int i = 0; i < n; i++) {
            assertThat(run.sent()[i]).as("request %d sent", i).isNotNegative();
            assertThat(run.intended()[i]).isEqualTo(arrivals[i]);
            assertThat(run.sent()[i]).isGreaterThanOrEqualTo(arrivals[i]);
            if (i > 0) {
                assertThat(run.sent()[i]).as("FIFO").isGreaterThanOrEqualTo(run.sent()[i - 1]);
            }
            if (run.sent()[i] > arrivals[i]) {
                waited++;
                // it waited for a slot: it left when a request ended, and the cap was full just before
                long t = run.sent()[i];
                int inFlightBefore = 0;
                boolean endedThen = false;
                for (int j = 0; j < n; j++) {
                    if (j != i && run.sent()[j] < t && run.ended()[j] >= t) {
                        inFlightBefore++;
                    }
                    endedThen |= run.ended()[j] == t;
                }
                assertThat(endedThen)
                        .as("request %d sent at %d when another ended", i, t)
                        .isTrue();
                assertThat(inFlightBefore)
                        .as("cap full before request %d was sent", i)
                        .isGreaterThanOrEqualTo(cap);
            }
        }
        ClientSummary s = run.summary();
        assertThat(s.sent()).isEqualTo(n);
        assertThat(s.unsent()).isZero();
        assertThat(s.waited()).isEqualTo(waited);
        assertThat(s.peakOutstanding()).isEqualTo(run.maxInFlight());
        assertThat(s.peakQueue()).isEqualTo(peakQueue(arrivals, run.sent()));
    }

    /** The most requests meant to be sent but not yet sent at one instant, by brute force. */
    static long peakQueue(long[] intended, long[] sent) {
        long peak = 0;
        for (long t : intended) {
            long q = 0;
            for (int j = 0; j < intended.length; j++) {
                if (intended[j] <= t && sent[j] > t) {
                    q++;
                }
            }
            peak = Math.max(peak, q);
        }
        return peak;
    }

    @Property(tries = 150, seed = "20250117")
    void closedLoopUsersHaveOneRequestEachAndThinkAfterEveryAnswer(
            @ForAll @IntRange(min = 1, max = 80) int n,
            @ForAll @IntRange(min = 1, max = 8) int users,
            @ForAll @LongRange(min = 0, max = 2_000_000_000L) long thinkNs,
            @ForAll long seed)
            throws IOException {
        long[] arrivals = arrivals(n, seed, 500_000_000L);
        ClientSpec spec = new ClientSpec(null, users, new DistributionSpec.Fixed(thinkNs / 1e9));
        ThinkTimes think = new ThinkTimes(spec.thinkTimeS(), new SplittableRandom(seed), null);
        Run run = serve(ClientGate.of(ClientGateTest.trace(arrivals), spec, think), n, seed);

        assertThat(run.maxInFlight()).isLessThanOrEqualTo(users);
        assertThat(run.ends()).isEqualTo(n);
        long thinkExactNs = (long) (thinkNs / 1e9 * 1e9);
        // users are ready at the first arrivals and a think time after each answer; the earliest-ready user
        // sends next, so the sends are the n earliest of those moments, in request order
        long[] ready = new long[Math.min(users, n) + n];
        int k = 0;
        for (int i = 0; i < Math.min(users, n); i++) {
            ready[k++] = arrivals[i];
        }
        for (int j = 0; j < n; j++) {
            ready[k++] = run.ended()[j] + thinkExactNs;
        }
        Arrays.sort(ready, 0, k);
        for (int i = 0; i < n; i++) {
            assertThat(run.sent()[i])
                    .as("request %d sent when the next user was ready", i)
                    .isEqualTo(ready[i]);
            assertThat(run.intended()[i]).isEqualTo(run.sent()[i]);
        }
    }

    @Property(tries = 100, seed = "20250118")
    void aCappedClosedLoopKeepsBothLimits(
            @ForAll @IntRange(min = 1, max = 50) int n,
            @ForAll @IntRange(min = 1, max = 8) int users,
            @ForAll @IntRange(min = 1, max = 8) int cap,
            @ForAll long seed)
            throws IOException {
        ClientSpec spec = new ClientSpec(cap, users, new DistributionSpec.Exponential(0.5));
        ThinkTimes think = new ThinkTimes(spec.thinkTimeS(), new SplittableRandom(seed), null);
        Run run = serve(ClientGate.of(ClientGateTest.trace(arrivals(n, seed, 100_000_000L)), spec, think), n, seed);
        assertThat(run.maxInFlight()).isLessThanOrEqualTo(Math.min(users, cap));
        assertThat(run.ends()).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            assertThat(run.sent()[i]).isGreaterThanOrEqualTo(run.intended()[i]);
        }
    }
}
