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
    public record LoraOverheadRun(
            Integer requests,
            Integer promptTokens,
            Integer outputTokens,
            Integer adapterRank,
            Integer maxLoras,
            Long seed) {}

    /**
     * The scheduler-overhead table's runs, which do not record their model or lengths: the model they are
     * taken to be, the study's mean request lengths, and for replaying them in full a workload spec's
     * {@code lengths} block, max_num_seqs, max_model_len (448 rank-8 slots leave no room for a
     * 131,072-token sequence on the 64 GB H100, yet those runs started) and the client's cap on outstanding
     * requests.
     */
    public record SchedulerOverheadRun(
            String model,
            Double promptTokens,
            Double outputTokens,
            Map<String, Object> lengths,
            Integer maxNumSeqs,
            Integer maxModelLen,
            Integer clientMaxOutstanding) {}

    /** The decode-latency runs. */
    public record DecodeRun(Integer promptTokens) {}
}
