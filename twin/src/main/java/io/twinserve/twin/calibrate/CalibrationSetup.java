package io.twinserve.twin.calibrate;

import java.util.Map;

/**
 * The facts of a measurement set: engine, GPU, engine settings, which profile each measured model is,
 * and how the LoRA-overhead and decode runs were driven. Read from a {@code setup.yaml}.
 */
public record CalibrationSetup(
    String name,
    String engine,
    String gpu,
    Double gpuMemoryUtilization,
    Integer blockSize,
    Integer maxNumBatchedTokens,
    Map<String, String> models,
    LoraOverheadRun loraOverheadRun,
    DecodeRun decodeRun,
    SchedulerOverheadRun schedulerOverheadRun) {

  /** The LoRA-overhead benchmark: requests submitted at once, fixed lengths, uniform adapters. */
  public record LoraOverheadRun(Integer requests, Integer promptTokens, Integer outputTokens, Integer adapterRank,
      Integer maxLoras, Long seed) {}

  /**
   * The scheduler-overhead table's runs, which do not record their model or lengths: the model they are
   * taken to be, and the study's request lengths.
   */
  public record SchedulerOverheadRun(String model, Double promptTokens, Double outputTokens) {}

  /** The decode-latency runs. */
  public record DecodeRun(Integer promptTokens) {}
}
