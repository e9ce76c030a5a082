package io.twinserve.twin.sched;

import io.twinserve.twin.perf.DecodeStretch;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.perf.StepShape;

/**
 * The state a loop keeps for the decode stretch of one replica, and what {@link Scheduler#runQuiet} did
 * in its last call: steps completed and planned in bulk, the clock, and the sums a loop's metrics need
 * (busy time, KV blocks in use over time). Reused from call to call; {@link #start} opens a stretch.
 *
 * <p>A loop sets {@link #limitNs} before each call: steps that end at or after it are left to it (the next
 * event, a timeline sample, a starvation checkpoint, the window's end).
 */
public final class QuietSteps {
    private final PerfModel perf;
    private boolean open;
    /** The stretch's prices, from the shape of its first step run quietly (null until then). */
    DecodeStretch prices;
    /** The last stretch's prices, handed back to the model to refill (null until a stretch is priced). */
    private DecodeStretch spare;
    /** Index in the stretch of the planned step (0: the step that opened it). */
    long index;
    /** End of the planned step, in ns. */
    long endNs;
    /** What the model priced the step that opened the stretch at (its shape's stepNs), or -1. */
    private long firstStepNs = -1;

    /** In: complete only steps that end before this, in ns. */
    public long limitNs;

    /** Out: steps completed by the last call. */
    public long completed;
    /** Out: steps planned by the last call (completed, less one when the last could not be planned). */
    public long planned;
    /** Out: the end of the last step completed (the clock), in ns. */
    public long lastEndNs;
    /** Out: the durations of the steps planned, summed, in ns. */
    public long plannedNs;
    /** Out: Σ over the steps completed of the KV blocks in use during the step times its duration. */
    public long usedBlockNs;
    /** Out: the next step's blocks did not fit; no step is planned, and the loop must call {@link Scheduler#plan}. */
    public boolean replan;

    /** Steps completed in bulk over this object's life (for tests: proof that stretches are taken). */
    public long totalCompleted;

    /** @param perf prices the replica's steps */
    public QuietSteps(PerfModel perf) {
        this.perf = perf;
    }

    /**
     * Opens a stretch at a step the scheduler just planned ({@link Scheduler#stretchable}), ending at {@code
     * endNs}. Its prices are made when a quiet step first runs (many stretches end before any does).
     */
    public void start(long endNs) {
        start(endNs, -1);
    }

    /**
     * As {@link #start(long)}, with what the model priced the opening step at ({@link PerfModel#stepNs} of the shape
     * {@link #price} will be given, -1 when not known): the stretch's prices then need not price it again.
     */
    public void start(long endNs, long firstStepNs) {
        this.open = true;
        retire();
        this.endNs = endNs;
        this.firstStepNs = firstStepNs;
    }

    /** Whether a stretch is open. */
    public boolean open() {
        return open;
    }

    /** Closes the stretch (its steps no longer repeat one shape). */
    public void close() {
        open = false;
        retire();
    }

    private void retire() {
        if (prices != null) {
            spare = prices;
            prices = null;
        }
    }

    /** Prices the stretch from {@code planned}, the shape of its planned step, unless already priced. */
    public void price(StepShape planned) {
        if (prices == null) {
            prices = perf.decodeStretch(planned, spare, firstStepNs);
            index = 0;
        }
    }

    /** The end of the planned step of the open stretch, in ns. */
    public long endNs() {
        return endNs;
    }

    /**
     * Follows a step of the stretch the loop completed and planned itself ({@link Scheduler#completeQuiet},
     * {@link Scheduler#planQuiet}) starting at {@code nowNs}, after {@link #price}: returns its duration (at
     * least 1 ns).
     */
    public long next(long nowNs) {
        long duration = Math.max(1, prices.stepNs(++index));
        endNs = nowNs + duration;
        return duration;
    }
}
