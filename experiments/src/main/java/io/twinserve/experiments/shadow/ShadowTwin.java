package io.twinserve.experiments.shadow;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * A deployment's twin, run beside it on the same arrivals: the deployment reports each request when it
 * arrives and when it ends; once every request of a window has ended (or the window has waited
 * {@code settle_s}), the twin replays that window's arrivals, after {@code warmup_windows} of the ones before,
 * with the output lengths the live side produced, and both sides' figures are computed by one function
 * ({@link WindowFigures}). A window drifts when a judged figure (throughput, median TTFT, mean inter-token
 * latency) and the measured one differ by more than a factor of 1 + {@code drift_bound} either way (and by
 * more than a floor of a few milliseconds for the latencies); {@code drift_windows} drifting
 * windows in a row raise the alarm, which names the likely cause by comparing the drifting windows'
 * workload (load, lengths, adapter mix) with the windows where the two sides agreed.
 *
 * <p>Each window is a fresh twin run from an empty replica over its warm-up and itself, so no twin state
 * crosses windows and a window's answer depends only on its arrivals: deterministic, and a few milliseconds
 * per window. Requests are grouped by the replica that served them, each group on its own twin replica (the
 * router's choice is taken as given, so the comparison is of the engine, not of routing).
 *
 * <p>Thread-safe: the deployment's request threads report, a timer evaluates.
 */
public final class ShadowTwin {
    /** The judged figures, in the order the cause and the API name them. */
    public static final List<String> JUDGED = List.of("throughput", "ttft_p50", "itl_mean");

    /** Differences below these never drift (jitter of a few milliseconds on a fast step is not drift). */
    static final double TTFT_FLOOR_MS = 10;

    static final double ITL_FLOOR_MS = 1;

    /** Windows kept for the API (a day of minutes). */
    static final int KEPT_WINDOWS = 1440;

    /** Prices one replica's requests: the twin's outcome of each arrival, in the order given. */
    public interface Twin {
        List<Outcome> simulate(List<Arrival> arrivals);
    }

    /** A request as the twin replays it: times from the start of the replay. */
    public record Arrival(long id, String adapter, long arrivalNs, int promptTokens, int outputTokens) {}

    /** The twin's times for one arrival, from the start of the replay (-1: did not happen). */
    public record Outcome(long firstTokenNs, long finishNs) {}

    /** The workload of a window, for naming a drift's cause. */
    public record Features(
            double requestsPerS, double meanPromptTokens, double meanOutputTokens, Map<String, Integer> adapters) {}

    /**
     * One evaluated window.
     *
     * @param judged whether it had enough finished requests to be judged
     * @param errors per judged figure, (predicted - measured) / measured
     * @param drifting whether some judged figure is out of bound
     */
    public record Window(
            long index,
            double startS,
            double endS,
            boolean judged,
            WindowFigures measured,
            WindowFigures predicted,
            Map<String, Double> errors,
            boolean drifting,
            Features features) {}

    /** An alarm raised or cleared. */
    public record Event(long window, double atS, String kind, String cause, String detail) {}

    /** The alarm now. */
    public record Alarm(boolean active, long sinceWindow, String cause, String detail) {}

    private static final class Req {
        final long id;
        /** The replica that serves it (another than it reached first when that one failed). */
        int replica;
        /** When it reached that replica: its arrival, or when it moved there. */
        long servedFromNs;

        final String adapter;
        final long arrivalNs;
        final int promptTokens;
        final int maxTokens;
        final long window;
        boolean ended;
        boolean served;
        long firstTokenNs = -1;
        long endNs = -1;
        int outputTokens;

        Req(long id, int replica, String adapter, long arrivalNs, int promptTokens, int maxTokens, long window) {
            this.id = id;
            this.replica = replica;
            this.adapter = adapter;
            this.arrivalNs = arrivalNs;
            this.servedFromNs = arrivalNs;
            this.promptTokens = promptTokens;
            this.maxTokens = maxTokens;
            this.window = window;
        }
    }

    private final ShadowSpec spec;
    private final Twin twin;
    private final long originNs;
    private final long windowNs;
    private final Map<Long, Req> byId = new HashMap<>();
    // requests of windows not yet pruned, in arrival order of report
    private final ArrayDeque<Req> requests = new ArrayDeque<>();
    private final Map<Long, Integer> pendingByWindow = new HashMap<>();
    private final ArrayDeque<Window> windows = new ArrayDeque<>();
    private final DriftAlarm alarm;
    private long nextId;
    private long nextWindow;
    private Window latestJudged;

    /**
     * @param originNs the clock's reading when the deployment started (window 0 starts there)
     * @param onEvent told of every alarm raised or cleared, under this object's lock
     */
    public ShadowTwin(ShadowSpec spec, Twin twin, long originNs, Consumer<Event> onEvent) {
        this.spec = spec;
        this.twin = twin;
        this.originNs = originNs;
        this.windowNs = spec.windowNs();
        this.alarm = new DriftAlarm(spec.driftWindows(), onEvent);
    }

    public ShadowSpec spec() {
        return spec;
    }

    /** A request reached replica {@code replica} at {@code nowNs}; returns its ticket for {@link #ended}. */
    public synchronized long arrived(long nowNs, int replica, String adapter, int promptTokens, int maxTokens) {
        long w = Math.max(0, (nowNs - originNs) / windowNs);
        Req r = new Req(nextId++, replica, adapter, nowNs, promptTokens, maxTokens, w);
        byId.put(r.id, r);
        requests.addLast(r);
        pendingByWindow.merge(w, 1, Integer::sum);
        return r.id;
    }

    /**
     * The request of {@code ticket} moved to replica {@code replica} at {@code nowNs} (the one it reached failed
     * before it was served): the twin replays it there from then, and its predicted TTFT still counts from its
     * arrival, as the measured one does (the wait on the failed replica is in both).
     */
    public synchronized void moved(long ticket, int replica, long nowNs) {
        Req r = byId.get(ticket);
        if (r != null) {
            r.replica = replica;
            r.servedFromNs = Math.max(r.arrivalNs, nowNs);
        }
    }

    /**
     * The request of {@code ticket} ended at {@code endNs} after {@code outputTokens} tokens, its first at
     * {@code firstTokenNs} (-1: none, as for a request refused or timed out before its first token).
     */
    public synchronized void ended(long ticket, long firstTokenNs, long endNs, int outputTokens) {
        Req r = byId.remove(ticket);
        if (r == null || r.ended) {
            return;
        }
        r.ended = true;
        r.firstTokenNs = firstTokenNs;
        r.endNs = endNs;
        r.outputTokens = outputTokens;
        r.served = firstTokenNs >= 0 && outputTokens > 0 && endNs >= firstTokenNs;
        pendingByWindow.merge(r.window, -1, Integer::sum);
    }

    /**
     * Judges every window that is due at {@code nowNs}: ended, and either all its requests (and earlier ones)
     * ended or {@code settle_s} passed. Returns the windows judged now.
     */
    public synchronized List<Window> evaluate(long nowNs) {
        List<Window> out = new ArrayList<>();
        while (true) {
            long end = originNs + (nextWindow + 1) * windowNs;
            if (nowNs < end) {
                break;
            }
            if (pendingUpTo(nextWindow) > 0 && nowNs < end + spec.settleNs()) {
                break;
            }
            if (!hasRequestsIn(nextWindow - spec.warmupWindows(), nextWindow)) {
                // nothing to replay: skip to the next window that has requests, or to now
                nextWindow =
                        Math.max(nextWindow + 1, Math.min(firstWindowFrom(nextWindow), (nowNs - originNs) / windowNs));
                prune();
                continue;
            }
            Window w = judge(nextWindow);
            out.add(w);
            windows.addLast(w);
            while (windows.size() > KEPT_WINDOWS) {
                windows.removeFirst();
            }
            nextWindow++;
            prune();
        }
        return out;
    }

    /** The evaluated windows, oldest first (at most a day's worth of minutes). */
    public synchronized List<Window> windows() {
        return List.copyOf(windows);
    }

    /** The latest judged window, or null. */
    public synchronized Window latestJudged() {
        return latestJudged;
    }

    public synchronized List<Event> events() {
        return alarm.events();
    }

    public synchronized Alarm alarm() {
        return alarm.now();
    }

    public synchronized long alarmsRaised() {
        return alarm.raised();
    }

    /** Requests reported and not yet ended. */
    public synchronized int inFlight() {
        return byId.size();
    }

    private int pendingUpTo(long window) {
        int n = 0;
        for (Map.Entry<Long, Integer> e : pendingByWindow.entrySet()) {
            if (e.getKey() <= window) {
                n += e.getValue();
            }
        }
        return n;
    }

    private boolean hasRequestsIn(long from, long to) {
        for (Req r : requests) {
            if (r.window >= from && r.window <= to) {
                return true;
            }
        }
        return false;
    }

    private long firstWindowFrom(long from) {
        long best = Long.MAX_VALUE;
        for (Req r : requests) {
            if (r.window >= from) {
                best = Math.min(best, r.window);
            }
        }
        return best;
    }

    /** Forgets requests no later window replays, and empty pending counts. */
    private void prune() {
        long keepFrom = nextWindow - spec.warmupWindows();
        while (!requests.isEmpty() && requests.peekFirst().window < keepFrom) {
            requests.removeFirst();
        }
        pendingByWindow.values().removeIf(v -> v == 0);
        // a request that never ended and whose windows are judged is given up on: it no longer holds them back
        pendingByWindow.keySet().removeIf(w -> w < keepFrom);
        byId.values().removeIf(r -> r.window < keepFrom);
    }

    private Window judge(long k) {
        long base = originNs + Math.max(0, k - spec.warmupWindows()) * windowNs;
        long from = originNs + k * windowNs;
        long to = from + windowNs;
        List<Req> replayed = new ArrayList<>();
        for (Req r : requests) {
            if (r.window >= k - spec.warmupWindows() && r.window <= k && (r.served || !r.ended)) {
                replayed.add(r);
            }
        }
        replayed.sort(Comparator.comparingLong((Req r) -> r.servedFromNs).thenComparingLong(r -> r.id));
        // the twin, replica by replica; a request still running is replayed with its max_tokens
        Map<Integer, List<Req>> byReplica = new LinkedHashMap<>();
        for (Req r : replayed) {
            byReplica.computeIfAbsent(r.replica, x -> new ArrayList<>()).add(r);
        }
        Map<Req, Outcome> predicted = new HashMap<>();
        for (List<Req> group : byReplica.values()) {
            List<Arrival> arrivals = new ArrayList<>(group.size());
            for (Req r : group) {
                int out = r.ended ? r.outputTokens : Math.max(1, r.maxTokens);
                arrivals.add(new Arrival(r.id, r.adapter, r.servedFromNs - base, r.promptTokens, out));
            }
            List<Outcome> outcomes = twin.simulate(arrivals);
            for (int i = 0; i < group.size(); i++) {
                predicted.put(group.get(i), outcomes.get(i));
            }
        }
        // both sides over the requests the live side finished
        List<Req> served = new ArrayList<>();
        for (Req r : replayed) {
            if (r.served) {
                served.add(r);
            }
        }
        int n = served.size();
        long[] arrival = new long[n];
        long[] mFirst = new long[n];
        long[] mEnd = new long[n];
        long[] pFirst = new long[n];
        long[] pEnd = new long[n];
        int[] tokens = new int[n];
        boolean[] in = new boolean[n];
        Map<String, Integer> adapters = new LinkedHashMap<>();
        long prompt = 0;
        long output = 0;
        int inCount = 0;
        for (int i = 0; i < n; i++) {
            Req r = served.get(i);
            arrival[i] = r.arrivalNs - base;
            mFirst[i] = r.firstTokenNs - base;
            mEnd[i] = r.endNs - base;
            Outcome o = predicted.get(r);
            pFirst[i] = o.firstTokenNs();
            pEnd[i] = o.finishNs();
            tokens[i] = r.outputTokens;
            in[i] = r.window == k;
            if (in[i]) {
                inCount++;
                prompt += r.promptTokens;
                output += r.outputTokens;
                adapters.merge(r.adapter == null ? "(base model)" : r.adapter, 1, Integer::sum);
            }
        }
        int arrivedInWindow = 0;
        for (Req r : requests) {
            if (r.window == k) {
                arrivedInWindow++;
            }
        }
        WindowFigures measured = WindowFigures.of(arrival, mFirst, mEnd, tokens, in, from - base, to - base);
        WindowFigures twinFigures = WindowFigures.of(arrival, pFirst, pEnd, tokens, in, from - base, to - base);
        Features features = new Features(
                arrivedInWindow / (windowNs / 1e9),
                inCount == 0 ? 0 : prompt / (double) inCount,
                inCount == 0 ? 0 : output / (double) inCount,
                adapters);
        boolean judged = measured.requests() >= spec.minRequests();
        Map<String, Double> errors = new LinkedHashMap<>();
        boolean drifts = false;
        if (judged) {
            for (String f : JUDGED) {
                double m = measured.figure(f);
                double p = twinFigures.figure(f);
                if (Double.isNaN(m) || Double.isNaN(p) || m == 0) {
                    continue;
                }
                double e = (p - m) / m;
                errors.put(f, e);
                double floor = f.startsWith("ttft") ? TTFT_FLOOR_MS : f.equals("itl_mean") ? ITL_FLOOR_MS : 0;
                // out of bound by a factor either way, so that a slower and a faster side are judged alike
                if ((p <= 0 || Math.max(p / m, m / p) > 1 + spec.driftBound()) && Math.abs(p - m) > floor) {
                    drifts = true;
                }
            }
        }
        Window w = new Window(
                k,
                (from - originNs) / 1e9,
                (to - originNs) / 1e9,
                judged,
                measured,
                twinFigures,
                errors,
                drifts,
                features);
        if (judged) {
            latestJudged = w;
            alarm.judged(w);
        }
        return w;
    }
}
