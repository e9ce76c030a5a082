package io.twinserve.api.cli;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * A progress line on standard error for long work, shown only on an interactive terminal so that logs
 * and pipes stay clean.
 */
final class Progress {
    private static final long MIN_INTERVAL_NS = 200_000_000L;

    private final PrintWriter err;
    private final String what;
    private final boolean enabled;
    private final long startNs = System.nanoTime();
    private long lastNs = startNs;
    private long nextCheck = 1 << 16;

    Progress(PrintWriter err, String what, boolean allowed) {
        this.err = err;
        this.what = what;
        this.enabled = allowed && System.console() != null && System.console().isTerminal();
    }

    /** Called per item; cheap except every 65,536 items. */
    void tick(long done) {
        tick(done, false);
    }

    /** With {@code always}, shows every call (for slow items such as whole simulations). */
    void tick(long done, boolean always) {
        if (!enabled || (!always && done < nextCheck)) {
            return;
        }
        nextCheck = done + (1 << 16);
        long now = System.nanoTime();
        if (!always && now - lastNs < MIN_INTERVAL_NS) {
            return;
        }
        lastNs = now;
        double seconds = (now - startNs) / 1e9;
        err.printf(Locale.ROOT, "\r%s: %,d (%,.0f/s)   ", what, done, done / seconds);
        err.flush();
    }

    void done() {
        if (enabled && lastNs != startNs) {
            err.print("\r" + " ".repeat(60) + "\r");
            err.flush();
        }
    }
}
