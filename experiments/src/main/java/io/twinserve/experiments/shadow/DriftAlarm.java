package io.twinserve.experiments.shadow;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The shadow twin's drift alarm: raised after {@code drift_windows} drifting windows in a row, cleared by the
 * first window back in bound, with the likely cause named by comparing the drifting windows' workload with the
 * latest windows where twin and live agreed. Not thread-safe: {@link ShadowTwin} calls it under its lock.
 */
final class DriftAlarm {
    /** Events kept for the API. */
    static final int KEPT_EVENTS = 500;

    /** Windows in agreement that the cause is judged against (the latest ones). */
    static final int REFERENCE_WINDOWS = 10;

    /** A workload feature that moved by more than this (relative, or total variation for the mix) is a cause. */
    static final double CAUSE_THRESHOLD = 0.25;

    private final int driftWindows;
    private final Consumer<ShadowTwin.Event> onEvent;
    private final ArrayDeque<ShadowTwin.Event> events = new ArrayDeque<>();
    private final ArrayDeque<ShadowTwin.Features> reference = new ArrayDeque<>();
    private final List<ShadowTwin.Features> drifting = new ArrayList<>();
    private int driftRun;
    private boolean active;
    private long alarmSince = -1;
    private String alarmCause;
    private String alarmDetail;
    private long raised;

    /** @param onEvent told of every alarm raised or cleared */
    DriftAlarm(int driftWindows, Consumer<ShadowTwin.Event> onEvent) {
        this.driftWindows = driftWindows;
        this.onEvent = onEvent;
    }

    ShadowTwin.Alarm now() {
        return new ShadowTwin.Alarm(active, alarmSince, alarmCause, alarmDetail);
    }

    List<ShadowTwin.Event> events() {
        return List.copyOf(events);
    }

    /** Alarms raised so far. */
    long raised() {
        return raised;
    }

    /** Takes the next judged window: counts a drift, raises or clears the alarm. */
    void judged(ShadowTwin.Window w) {
        if (!w.drifting()) {
            driftRun = 0;
            drifting.clear();
            reference.addLast(w.features());
            while (reference.size() > REFERENCE_WINDOWS) {
                reference.removeFirst();
            }
            if (active) {
                active = false;
                emit(new ShadowTwin.Event(
                        w.index(),
                        w.endS(),
                        "cleared",
                        alarmCause,
                        "window " + w.index() + " is within the bound again: " + describeErrors(w)));
                alarmCause = null;
                alarmDetail = null;
                alarmSince = -1;
            }
            return;
        }
        driftRun++;
        drifting.add(w.features());
        if (!active && driftRun >= driftWindows) {
            active = true;
            raised++;
            alarmSince = w.index() - driftRun + 1;
            String[] cause = cause(w);
            alarmCause = cause[0];
            alarmDetail = cause[1];
            emit(new ShadowTwin.Event(w.index(), w.endS(), "raised", alarmCause, alarmDetail));
        }
    }

    private void emit(ShadowTwin.Event e) {
        events.addLast(e);
        while (events.size() > KEPT_EVENTS) {
            events.removeFirst();
        }
        onEvent.accept(e);
    }

    /** The likely cause of the drift, {name, sentence}: the workload feature that moved most, else the engine. */
    private String[] cause(ShadowTwin.Window w) {
        String errors = describeErrors(w);
        if (reference.isEmpty()) {
            return new String[] {
                "profile",
                "twin and live have disagreed since the first judged window (" + errors + "): the twin's profile may"
                        + " not describe this engine on this machine; profile it again (twinserve engine profile)"
            };
        }
        ShadowTwin.Features ref = mean(reference);
        ShadowTwin.Features now = mean(drifting);
        double load = relative(now.requestsPerS(), ref.requestsPerS());
        double prompt = relative(now.meanPromptTokens(), ref.meanPromptTokens());
        double output = relative(now.meanOutputTokens(), ref.meanOutputTokens());
        double mix = totalVariation(now.adapters(), ref.adapters());
        double lengths = Math.max(prompt, output);
        double worst = Math.max(Math.max(load, lengths), mix);
        String against = "than in the " + reference.size() + " latest windows where twin and live agreed";
        if (worst < CAUSE_THRESHOLD) {
            return new String[] {
                "engine",
                "the workload is as before (load, lengths and adapter mix within "
                        + pct(CAUSE_THRESHOLD) + " of the windows where twin and live agreed) but " + errors
                        + ": the engine itself is slower or faster than the twin prices it (another workload on the"
                        + " machine, a changed backend, throttling)"
            };
        }
        if (worst == load) {
            return new String[] {
                "load",
                String.format(
                        Locale.ROOT,
                        "%.3g requests/s against %.3g %s (%s); the twin is off there: %s",
                        now.requestsPerS(),
                        ref.requestsPerS(),
                        against,
                        change(now.requestsPerS(), ref.requestsPerS()),
                        errors)
            };
        }
        if (worst == lengths) {
            return new String[] {
                "lengths",
                String.format(
                        Locale.ROOT,
                        "mean prompt %.0f and output %.0f tokens against %.0f and %.0f %s; the twin is off there: %s",
                        now.meanPromptTokens(),
                        now.meanOutputTokens(),
                        ref.meanPromptTokens(),
                        ref.meanOutputTokens(),
                        against,
                        errors)
            };
        }
        return new String[] {
            "adapter_mix",
            String.format(
                    Locale.ROOT,
                    "the adapters' shares of requests moved by %s (total variation) %s, %d adapters against %d; the"
                            + " twin is off there: %s",
                    pct(mix),
                    against,
                    now.adapters().size(),
                    ref.adapters().size(),
                    errors)
        };
    }

    private static String describeErrors(ShadowTwin.Window w) {
        List<String> parts = new ArrayList<>();
        for (String f : ShadowTwin.JUDGED) {
            Double e = w.errors().get(f);
            if (e != null) {
                parts.add(String.format(
                        Locale.ROOT,
                        "%s predicted %.4g, measured %.4g (%+.0f%%)",
                        f,
                        w.predicted().figure(f),
                        w.measured().figure(f),
                        100 * e));
            }
        }
        return String.join("; ", parts);
    }

    private static ShadowTwin.Features mean(Iterable<ShadowTwin.Features> fs) {
        double rate = 0;
        double prompt = 0;
        double output = 0;
        int n = 0;
        Map<String, Integer> adapters = new HashMap<>();
        for (ShadowTwin.Features f : fs) {
            rate += f.requestsPerS();
            prompt += f.meanPromptTokens();
            output += f.meanOutputTokens();
            f.adapters().forEach((a, c) -> adapters.merge(a, c, Integer::sum));
            n++;
        }
        return new ShadowTwin.Features(rate / n, prompt / n, output / n, adapters);
    }

    private static double relative(double now, double ref) {
        if (ref <= 0) {
            return now > 0 ? Double.POSITIVE_INFINITY : 0;
        }
        return Math.abs(now / ref - 1);
    }

    /** Half the L1 distance between two count maps' shares: 0 the same mix, 1 disjoint adapters. */
    static double totalVariation(Map<String, Integer> a, Map<String, Integer> b) {
        double na = a.values().stream().mapToInt(Integer::intValue).sum();
        double nb = b.values().stream().mapToInt(Integer::intValue).sum();
        if (na == 0 || nb == 0) {
            return 0;
        }
        double sum = 0;
        var keys = new HashSet<>(a.keySet());
        keys.addAll(b.keySet());
        for (String k : keys) {
            sum += Math.abs(a.getOrDefault(k, 0) / na - b.getOrDefault(k, 0) / nb);
        }
        return sum / 2;
    }

    private static String pct(double x) {
        return String.format(Locale.ROOT, "%.0f%%", 100 * x);
    }

    private static String change(double now, double ref) {
        return ref <= 0 ? "new" : String.format(Locale.ROOT, "%.2fx", now / ref);
    }
}
