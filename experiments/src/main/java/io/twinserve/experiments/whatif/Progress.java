package io.twinserve.experiments.whatif;

/** Receives how far a what-if, sweep or plan has come: a fraction in [0, 1] and the stage it is in. */
@FunctionalInterface
public interface Progress {
    /** Ignores every update. */
    Progress NONE = (fraction, stage) -> {};

    void update(double fraction, String stage);
}
