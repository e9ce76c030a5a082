package io.twinserve.twin.sched;

/** Receives what a completed step did, for metrics. */
public interface StepListener {

  /** A sequence sampled its first token. */
  void onFirstToken(Sequence s, long nowNs);

  /** A sequence sampled a later token, {@code gapNs} after its previous one. */
  void onToken(Sequence s, long gapNs);

  /** A sequence finished; its blocks and adapter are already released. */
  void onFinished(Sequence s, long nowNs);
}
