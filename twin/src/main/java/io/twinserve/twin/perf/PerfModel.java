package io.twinserve.twin.perf;

/** Prices scheduler steps and adapter loads; one implementation per kind of model. */
public interface PerfModel {

  /** Duration of one step of this shape, in ns. */
  long stepNs(StepShape step);

  /**
   * Time to copy an adapter of {@code rank} from host memory into a GPU slot reserved at
   * {@code slotRank}, in ns.
   */
  long adapterLoadFromCpuNs(int rank, int slotRank);

  /** Time to read an adapter of {@code rank} from storage into host memory, in ns. */
  long adapterLoadFromStorageNs(int rank);
}
