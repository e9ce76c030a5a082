package io.twinserve.twin.client;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.gen.ThinkTimes;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.ClientSpec;
import io.twinserve.twin.metrics.ClientSummary;
import io.twinserve.twin.metrics.LatencyHistogram;
import java.io.IOException;
import java.util.ArrayDeque;
import java.util.Arrays;

/**
 * The benchmark client between a workload's requests and a simulation loop: it decides when each request
 * is sent. A loop asks for the {@link #nextSendNs() next send time}, {@link #take() takes} the request
 * sent then, and tells the gate when a request it sent {@link #ended ended} (finished, timed out with 408
 * or rejected).
 *
 * <p>Request contents come from the source in its order; only send times are the client's. Each request
 * has an intended time: its arrival time in the workload (open loop), or the moment its user was ready
 * (closed loop: the first requests of the {@code users} users at the arrival times of the workload's first
 * {@code users} requests, later ones a think time after the user's previous request ended). A request is
 * sent at its intended time, or, while {@code max_outstanding} requests are in flight, when one of them
 * ends, in intended order (FIFO). Without a client block and cap the send time is the arrival time, so a
 * run is exactly what it was before clients existed.
 *
 * <p>Once {@link #nextSendNs()} is finite it stays so until the next {@link #take()}, except in a closed
 * loop where an end may make a user ready earlier; a loop that schedules sends ahead must ask again after
 * each {@link #ended}.
 */
public final class ClientGate {
    private static final long MAX_MICROS = 1000L * 3600 * 1_000_000;

    private final TraceReader source;
    private final ClientSpec spec;
    private final ThinkTimes thinkTimes;
    private final int cap;
    private final boolean closedLoop;
    /** Closed loop: the first requests, read ahead to learn their users' start times. */
    private final ArrayDeque<Request> ahead = new ArrayDeque<>();
    /** Closed loop: when each user not in flight is ready to send (a binary min-heap). */
    private long[] ready = new long[0];

    private int readyCount;
    private Request pending;
    private int outstanding;
    private long slotFreeNs;
    private long intendedNs = -1;
    // the figures (active clients only)
    private final LatencyHistogram wait;
    private long sent;
    private long waited;
    private long unsent;
    private long peakQueue;
    private int peakOutstanding;
    /** Send times later than a request's intended time, of requests sent: the client queue of later instants. */
    private long[] delayedSends = new long[16];

    private int delayedHead;
    private int delayedCount;

    private ClientGate(TraceReader source, ClientSpec spec, ThinkTimes thinkTimes) throws IOException {
        this.source = source;
        this.spec = spec;
        this.thinkTimes = thinkTimes;
        this.cap = spec == null || spec.maxOutstanding() == null ? Integer.MAX_VALUE : spec.maxOutstanding();
        this.closedLoop = spec != null && spec.closedLoop();
        this.wait = spec == null ? null : new LatencyHistogram();
        if (closedLoop) {
            ready = new long[Math.min(spec.users(), 1024)];
            for (int u = 0; u < spec.users(); u++) {
                Request r = source.next();
                if (r == null) {
                    break;
                }
                ahead.add(r);
                push(r.arrivalNs());
            }
            pending = ahead.poll();
        } else {
            pending = source.next();
        }
    }

    /** Every request sent at its arrival time: no client block. */
    public static ClientGate open(TraceReader source) throws IOException {
        return new ClientGate(source, null, null);
    }

    /**
     * A client as {@code spec} describes (null: none); {@code thinkTimes} draws a closed loop's pauses (null:
     * none).
     */
    public static ClientGate of(TraceReader source, ClientSpec spec, ThinkTimes thinkTimes) throws IOException {
        return new ClientGate(source, spec, thinkTimes);
    }

    /**
     * The client of the workload {@code source} generates (its spec's {@code client} block; traces have
     * none), with its cap replaced by {@code maxOutstanding} when that is not null (the command line's
     * {@code --max-outstanding}).
     */
    public static ClientGate forWorkload(TraceReader source, Integer maxOutstanding) throws IOException {
        ClientSpec spec = null;
        ThinkTimes thinkTimes = null;
        if (source instanceof WorkloadGenerator g) {
            spec = g.spec().client();
            thinkTimes = g.thinkTimes();
        }
        if (maxOutstanding != null) {
            spec = spec == null ? ClientSpec.capped(maxOutstanding) : spec.withMaxOutstanding(maxOutstanding);
        }
        return new ClientGate(source, spec, thinkTimes);
    }

    /** Whether a client block or cap applies, so that client figures are reported. */
    public boolean active() {
        return spec != null;
    }

    /** When the next request is sent, or {@link Long#MAX_VALUE} while none can be (all sent, or waiting for an end). */
    public long nextSendNs() {
        if (outstanding >= cap) {
            return Long.MAX_VALUE;
        }
        long intended = nextIntendedNs();
        return intended == Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(intended, slotFreeNs);
    }

    /** Whether no request will ever be sent before {@code endNs}, whatever ends from now on. */
    public boolean drained(long endNs) {
        if (pending == null) {
            return true;
        }
        if (closedLoop && outstanding > 0) {
            return false;
        }
        return nextIntendedNs() >= endNs;
    }

    private long nextIntendedNs() {
        if (pending == null) {
            return Long.MAX_VALUE;
        }
        if (closedLoop) {
            return readyCount == 0 ? Long.MAX_VALUE : ready[0];
        }
        return pending.arrivalNs();
    }

    /**
     * The request sent at {@link #nextSendNs()}, which must be finite; {@link #intendedNs()} then tells when
     * it was meant to be sent.
     */
    public Request take() throws IOException {
        long sendNs = nextSendNs();
        if (sendNs == Long.MAX_VALUE) {
            throw new IllegalStateException("no request can be sent now: " + outstanding + " outstanding of "
                    + (cap == Integer.MAX_VALUE ? "no cap" : "a cap of " + cap)
                    + (pending == null ? ", none left" : ""));
        }
        long intended = nextIntendedNs();
        Request r = pending;
        advance();
        outstanding++;
        intendedNs = intended;
        if (spec != null) {
            sent++;
            long w = sendNs - intended;
            if (w > 0) {
                waited++;
            }
            wait.recordValue(Math.min(MAX_MICROS, w / 1000));
            queued(intended, sendNs);
            peakOutstanding = Math.max(peakOutstanding, outstanding);
        }
        return r;
    }

    /** When the request last taken was meant to be sent (its workload arrival time in an open loop). */
    public long intendedNs() {
        return intendedNs;
    }

    /** Requests sent and not yet ended. */
    public int outstanding() {
        return outstanding;
    }

    /** A request this gate sent ended at {@code nowNs}: a slot frees, and in a closed loop its user thinks. */
    public void ended(long nowNs) {
        if (outstanding <= 0) {
            throw new IllegalStateException(
                    "a request ended at " + nowNs + " ns but none of this client's is in flight");
        }
        if (outstanding == cap) {
            slotFreeNs = Math.max(slotFreeNs, nowNs);
        }
        outstanding--;
        if (closedLoop) {
            push(nowNs + (thinkTimes == null ? 0 : thinkTimes.nextNs()));
        }
    }

    /**
     * The client's figures for a run measured up to {@code endNs}: requests meant to be sent before it but
     * still at the client count as unsent (and in the peak queue). Null without a client block or cap. Call
     * once, at the end of the run: it reads the rest of the source up to {@code endNs}.
     */
    public ClientSummary summary(long endNs) throws IOException {
        if (spec == null) {
            return null;
        }
        while (nextIntendedNs() < endNs) {
            queued(nextIntendedNs(), Long.MAX_VALUE);
            unsent++;
            advance();
        }
        return new ClientSummary(
                spec.maxOutstanding(), spec.users(), sent, waited, unsent, wait.latency(), peakQueue, peakOutstanding);
    }

    private void advance() throws IOException {
        if (closedLoop) {
            pop();
            pending = ahead.isEmpty() ? source.next() : ahead.poll();
        } else {
            pending = source.next();
        }
    }

    /**
     * Counts the client queue at the instant a request was meant to be sent: the earlier requests sent after
     * it (intended times never decrease, so those are a suffix of the delayed sends), plus itself if it
     * waits. The queue only grows at intended times, so its peak is at one of them.
     */
    private void queued(long intended, long sendNs) {
        while (delayedCount > 0 && delayedSends[delayedHead] <= intended) {
            delayedHead = (delayedHead + 1) % delayedSends.length;
            delayedCount--;
        }
        boolean waits = sendNs > intended;
        peakQueue = Math.max(peakQueue, delayedCount + (waits ? 1 : 0));
        if (waits) {
            if (delayedCount == delayedSends.length) {
                long[] grown = new long[delayedSends.length * 2];
                for (int i = 0; i < delayedCount; i++) {
                    grown[i] = delayedSends[(delayedHead + i) % delayedSends.length];
                }
                delayedSends = grown;
                delayedHead = 0;
            }
            delayedSends[(delayedHead + delayedCount) % delayedSends.length] = sendNs;
            delayedCount++;
        }
    }

    private void push(long ns) {
        if (readyCount == ready.length) {
            ready = Arrays.copyOf(ready, Math.max(4, ready.length * 2));
        }
        int i = readyCount++;
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (ready[parent] <= ns) {
                break;
            }
            ready[i] = ready[parent];
            i = parent;
        }
        ready[i] = ns;
    }

    private void pop() {
        long last = ready[--readyCount];
        int i = 0;
        int half = readyCount >>> 1;
        while (i < half) {
            int child = 2 * i + 1;
            if (child + 1 < readyCount && ready[child + 1] < ready[child]) {
                child++;
            }
            if (last <= ready[child]) {
                break;
            }
            ready[i] = ready[child];
            i = child;
        }
        if (readyCount > 0) {
            ready[i] = last;
        }
    }
}
