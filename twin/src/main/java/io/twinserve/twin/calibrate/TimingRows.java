package io.twinserve.twin.calibrate;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Turns every timing row of a measurement set into the step that explains it ({@link StepScenario}),
 * family by family. Files that are absent are skipped, so a calibration folder may hold any subset.
 *
 * <p>Over 400 lines because it maps each timing file of a calibration set to its step scenario, one method per
 * file.
 */
final class TimingRows {
    static final String DECODE_ITL = "decode_itl_vs_batch_no_lora.csv";
    static final String DECODE_BURSTS = "decode_bursts_no_lora.csv";
    static final String LORA_BURSTS = "lora_overhead_bursts.csv";
    static final String LORA_DISTINCT = "lora_overhead_vs_distinct_adapters.csv";
    static final String LONE = "lora_slots_single_request.csv";
    static final String PREFILL = "prefill_bursts_no_lora.csv";
    static final String SCHEDULER = "scheduler_overhead.csv";

    private final Path dir;
    private final CalibrationSetup setup;
    private final BurstClient client;

    TimingRows(Path dir, CalibrationSetup setup) throws IOException {
        this.dir = dir;
        this.setup = setup;
        this.client = BurstClient.fit(csv(PREFILL), setup.maxNumBatchedTokens());
    }

    /** The benchmark client's time around a burst, read from the long prefill bursts. */
    BurstClient client() {
        return client;
    }

    private Csv csv(String file) throws IOException {
        Path p = dir.resolve(file);
        return Files.isRegularFile(p) ? new Csv(p) : null;
    }

    /** Every timing row of {@code model} (its name in the CSV files). */
    List<TimingRow> rows(String model) throws IOException {
        List<TimingRow> out = new ArrayList<>();
        Csv bursts = csv(DECODE_BURSTS);
        decodeItl(out, csv(DECODE_ITL), bursts, model);
        decodeBursts(out, bursts, model);
        loraBursts(out, csv(LORA_BURSTS), model);
        loraDistinct(out, csv(LORA_DISTINCT), model);
        lone(out, csv(LONE), model);
        prefill(out, csv(PREFILL), model);
        oneAdapterAtATime(out, csv(StorageLoadFit.FILE), model);
        if (setup.schedulerOverheadRun() != null
                && model.equals(setup.schedulerOverheadRun().model())) {
            scheduler(out, csv(SCHEDULER));
        }
        return out;
    }

    /**
     * Whether a run's waiting requests mostly wait for adapter slots: its batches hold on average more than
     * 85% as many distinct adapters as it has slots (the means do not say how often the slots were full).
     */
    static boolean slotsBlocked(Csv c, int i) {
        return c.number(i, "mean_waiting_requests") > 0
                && c.number(i, "mean_distinct_adapters_per_batch") > BLOCKED_SHARE * c.number(i, "max_loras");
    }

    static final double BLOCKED_SHARE = 0.85;

    /** Scheduler-time rows (ms per step): running batch, waiting queue, slots blocked (1 or 0), time. */
    List<double[]> schedulerTimes() throws IOException {
        Csv c = csv(SCHEDULER);
        List<double[]> out = new ArrayList<>();
        if (c == null) {
            return out;
        }
        for (int i = 0; i < c.size(); i++) {
            out.add(new double[] {
                c.number(i, "mean_running_batch"),
                c.number(i, "mean_waiting_requests"),
                slotsBlocked(c, i) ? 1 : 0,
                c.number(i, "scheduling_time_total_s") / c.number(i, "engine_steps") * 1e3
            });
        }
        return out;
    }

    static String schedulerKey(Csv c, int i) {
        return c.text(i, "sweep") + " max_loras=" + (int) c.number(i, "max_loras") + " served="
                + (int) c.number(i, "served_adapters") + " rate=" + c.text(i, "aggregate_rate_req_per_s");
    }

    String schedulerKey(int i) throws IOException {
        return schedulerKey(csv(SCHEDULER), i);
    }

    /** Expected distinct adapters among {@code batch} uniform draws from {@code n} adapters. */
    static double expectedDistinct(double n, double batch) {
        return n <= 0 ? 0 : n * (1 - Math.pow(1 - 1.0 / n, batch));
    }

    private static boolean missing(Csv c, int i, String column) {
        return c.text(i, column).isEmpty();
    }

    // The decode-latency file holds the output-100 runs of the decode bursts (the same mean ITL) with batch
    // values far below the bursts' own (534 against 942 sequences at max_num_seqs 1000). Matched by order of
    // batch size, each row is priced as its burst is: a full batch of max_num_seqs and the burst's queue.
    private void decodeItl(List<TimingRow> out, Csv c, Csv bursts, String model) {
        if (c == null) {
            return;
        }
        List<Double> waiting = new ArrayList<>();
        List<Double> batches = new ArrayList<>();
        if (bursts != null) {
            List<double[]> runs = new ArrayList<>();
            for (int i = 0; i < bursts.size(); i++) {
                if (bursts.text(i, "model").equals(model) && bursts.number(i, "synthetic_output_length_arg") == 100) {
                    runs.add(new double[] {
                        bursts.number(i, "max_num_seqs"),
                        bursts.number(i, "mean_waiting_requests"),
                        fullBatch(bursts, i)
                    });
                }
            }
            runs.sort(Comparator.comparingDouble(r -> r[0]));
            for (double[] r : runs) {
                waiting.add(r[1]);
                batches.add(r[2]);
            }
        }
        int k = 0;
        List<Integer> mine = new ArrayList<>();
        for (int i = 0; i < c.size(); i++) {
            if (c.text(i, "model").equals(model)) {
                mine.add(i);
            }
        }
        mine.sort(Comparator.comparingDouble(i -> c.number(i, "mean_running_batch")));
        double context = setup.decodeRun().promptTokens() + 50;
        for (int i : mine) {
            double w = k < waiting.size() ? waiting.get(k) : 0;
            double b = k < batches.size() ? batches.get(k) : c.number(i, "mean_running_batch");
            k++;
            out.add(new TimingRow(
                    "decode_itl_vs_batch",
                    DECODE_ITL,
                    "mean_running_batch=" + c.text(i, "mean_running_batch"),
                    "mean_itl_ms",
                    c.number(i, "mean_itl_ms"),
                    StepScenario.decode(b, context, w, 0, 0, 0)));
        }
    }

    /**
     * The batch a decode burst holds while its queue lasts: max_num_seqs, or fewer when the KV cache cannot
     * hold that many sequences at their mean context. The gauges' means mix in the draining tail and the
     * samples between bursts.
     */
    private double fullBatch(Csv c, int i) {
        double context = c.number(i, "mean_prompt_tokens") + c.number(i, "mean_output_tokens") / 2;
        // a run whose log lacks the capacity is taken to have the model's LoRA-disabled capacity of the others
        double byKv = missing(c, i, "kv_cache_tokens") ? Double.MAX_VALUE : c.number(i, "kv_cache_tokens") / context;
        return Math.min(c.number(i, "max_num_seqs"), Math.min(byKv, c.number(i, "requests_sent")));
    }

    private void decodeBursts(List<TimingRow> out, Csv c, String model) {
        if (c == null) {
            return;
        }
        for (int i = 0; i < c.size(); i++) {
            if (!c.text(i, "model").equals(model) || missing(c, i, "mean_itl_ms")) {
                continue;
            }
            double context = c.number(i, "mean_prompt_tokens") + c.number(i, "mean_output_tokens") / 2;
            out.add(new TimingRow(
                    "decode_bursts",
                    DECODE_BURSTS,
                    "max_num_seqs=" + (int) c.number(i, "max_num_seqs") + " output="
                            + c.text(i, "synthetic_output_length_arg"),
                    "mean_itl_ms",
                    c.number(i, "mean_itl_ms"),
                    StepScenario.decode(fullBatch(c, i), context, c.number(i, "mean_waiting_requests"), 0, 0, 0)));
        }
    }

    // The gauges of the LoRA bursts mix in the client's one-request-per-adapter warm-up, so the batch is the
    // max_num_seqs the burst holds and the queue drains linearly from the burst to 0.
    private void loraBursts(List<TimingRow> out, Csv c, String model) {
        if (c == null) {
            return;
        }
        for (int i = 0; i < c.size(); i++) {
            if (!c.text(i, "model").equals(model)
                    || !c.text(i, "outcome").equals("ok")
                    || missing(c, i, "mean_itl_ms")) {
                continue;
            }
            boolean lora = c.text(i, "lora_enabled").equals("yes");
            int slots = lora ? (int) c.number(i, "max_loras") : 0;
            int rank = lora ? (int) c.number(i, "max_lora_rank") : 0;
            double requests = c.number(i, "requests_sent");
            double prompt = c.number(i, "mean_prompt_tokens");
            double output = c.number(i, "mean_output_tokens");
            String key = c.text(i, "study_set") + " max_num_seqs=" + c.text(i, "max_num_seqs") + " max_loras="
                    + c.text(i, "max_loras") + " adapters=" + c.text(i, "distinct_adapters_drawn_from") + " output="
                    + c.text(i, "synthetic_output_length_arg");
            if (c.text(i, "study_set").equals("find_max_batch_small")) {
                // no max_num_seqs: the batch filled to its peak while long prompts kept arriving from the queue
                double batch = c.number(i, "max_running_batch");
                double served = c.number(i, "served_adapters");
                double rate = requests / c.number(i, "duration_s");
                out.add(new TimingRow(
                        "lora_mixed_batches",
                        LORA_BURSTS,
                        key,
                        "mean_itl_ms",
                        c.number(i, "mean_itl_ms"),
                        new StepScenario(
                                        batch,
                                        prompt + output / 2,
                                        0,
                                        prompt,
                                        rate,
                                        (requests - batch) / 2,
                                        slots,
                                        expectedDistinct(served, batch),
                                        rank,
                                        0)
                                .withLoaded(Math.min(slots, served))));
                continue;
            }
            double batch = c.number(i, "max_num_seqs");
            double n = lora ? c.number(i, "distinct_adapters_drawn_from") : 0;
            out.add(new TimingRow(
                    "lora_bursts",
                    LORA_BURSTS,
                    key,
                    "mean_itl_ms",
                    c.number(i, "mean_itl_ms"),
                    StepScenario.decode(
                                    batch,
                                    prompt + output / 2,
                                    (requests - batch) / 2,
                                    slots,
                                    expectedDistinct(n, batch),
                                    rank)
                            .withLoaded(Math.min(slots, n))));
        }
    }

    private void loraDistinct(List<TimingRow> out, Csv c, String model) {
        if (c == null) {
            return;
        }
        CalibrationSetup.LoraOverheadRun run = setup.loraOverheadRun();
        double context = run.promptTokens() + run.outputTokens() / 2.0;
        for (int i = 0; i < c.size(); i++) {
            if (!c.text(i, "model").equals(model)) {
                continue;
            }
            boolean lora = c.text(i, "lora_enabled").equals("yes");
            double batch = c.number(i, "max_num_seqs");
            double n = lora ? c.number(i, "distinct_adapters_drawn_from") : 0;
            out.add(new TimingRow(
                    "lora_vs_distinct_adapters",
                    LORA_DISTINCT,
                    "distinct_adapters_drawn_from=" + (int) c.number(i, "distinct_adapters_drawn_from")
                            + (lora ? "" : " (LoRA disabled)"),
                    "mean_itl_ms",
                    c.number(i, "mean_itl_ms"),
                    StepScenario.decode(
                                    batch,
                                    context,
                                    (run.requests() - batch) / 2,
                                    lora ? run.maxLoras() : 0,
                                    expectedDistinct(n, batch),
                                    run.adapterRank())
                            .withLoaded(lora ? Math.min(run.maxLoras(), n) : 0)));
        }
    }

    private void lone(List<TimingRow> out, Csv c, String model) {
        if (c == null) {
            return;
        }
        for (int i = 0; i < c.size(); i++) {
            if (!c.text(i, "model").equals(model)
                    || !c.text(i, "started").equals("yes")
                    || missing(c, i, "mean_itl_ms")) {
                continue;
            }
            int slots = (int) c.number(i, "max_loras");
            int slotRank = (int) c.number(i, "max_lora_rank");
            String key = "max_loras=" + slots + " max_lora_rank=" + slotRank;
            double prompt = c.number(i, "prompt_tokens");
            double output = c.number(i, "output_tokens");
            out.add(new TimingRow(
                    "lone_request_itl",
                    LONE,
                    key,
                    "mean_itl_ms",
                    c.number(i, "mean_itl_ms"),
                    StepScenario.decode(1, prompt + output / 2, 0, slots, 0, 0).withSlotRank(slotRank)));
            out.add(new TimingRow(
                    "lone_request_ttft",
                    LONE,
                    key,
                    "mean_ttft_ms",
                    c.number(i, "ttft_ms"),
                    new StepScenario(0, 0, prompt, prompt, 0, 0, slots, 0, 0, 0).withSlotRank(slotRank)));
        }
    }

    // Fifty requests of fifty adapters through one slot: one sequence decodes at a time with its adapter,
    // the others waiting behind the pinned slot. The one measurement of an adapter's cost at a batch of one.
    private void oneAdapterAtATime(List<TimingRow> out, Csv c, String model) {
        if (c == null) {
            return;
        }
        for (int i = 0; i < c.size(); i++) {
            if (!c.text(i, "model").equals(model) || missing(c, i, "mean_itl_ms")) {
                continue;
            }
            double prompt = c.number(i, "mean_prompt_tokens");
            double output = c.number(i, "mean_output_tokens");
            double requests = c.number(i, "requests_sent");
            out.add(new TimingRow(
                    "adapter_runs_itl",
                    StorageLoadFit.FILE,
                    "max_lora_rank=" + (int) c.number(i, "max_lora_rank") + " adapter_rank="
                            + (int) c.number(i, "adapter_rank"),
                    "mean_itl_ms",
                    c.number(i, "mean_itl_ms"),
                    new StepScenario(
                                    1,
                                    prompt + output / 2,
                                    0,
                                    0,
                                    0,
                                    (requests - 1) / 2,
                                    (int) c.number(i, "max_loras"),
                                    1,
                                    (int) c.number(i, "adapter_rank"),
                                    0,
                                    true)
                            .withLoaded(1)));
        }
    }

    // Long bursts (thousands of requests) prefill full 2,048-token steps: the step prefills its budget over its
    // length. A short burst (a few steps) is priced step by step for its mean TTFT.
    private void prefill(List<TimingRow> out, Csv c, String model) {
        if (c == null) {
            return;
        }
        int budget = setup.maxNumBatchedTokens();
        for (int i = 0; i < c.size(); i++) {
            if (!c.text(i, "model").equals(model)) {
                continue;
            }
            double prompt = c.number(i, "mean_prompt_tokens");
            double requests = c.number(i, "requests_sent");
            String key = "max_num_seqs=" + (int) c.number(i, "max_num_seqs") + " prompt=" + prompt;
            double waiting = missing(c, i, "mean_waiting_requests") ? 0 : c.number(i, "mean_waiting_requests");
            if (requests * prompt > 4 * budget) {
                out.add(new TimingRow(
                        "prefill_bursts",
                        PREFILL,
                        key,
                        "input_tokens_per_s",
                        c.number(i, "input_throughput_tok_per_s"),
                        new StepScenario(0, 0, budget, prompt, 0, waiting, 0, 0, 0, 0),
                        null,
                        TimingRow.ClientTime.of(client, requests, requests * prompt)));
            } else {
                out.add(new TimingRow(
                        "prefill_bursts",
                        PREFILL,
                        key,
                        "mean_ttft_ms",
                        c.number(i, "mean_ttft_ms"),
                        new StepScenario(0, 0, Math.min(budget, requests * prompt), prompt, 0, 0, 0, 0, 0, 0),
                        new TimingRow.Burst(requests, budget),
                        TimingRow.ClientTime.of(client, requests, requests * prompt)));
            }
        }
    }

    // Poisson runs of ten minutes: decodes at the token-weighted batch (the time-weighted mean plus one, as
    // for Poisson occupancy, E[B²]/E[B] = E[B] + 1), prompts prefilled at the completion rate, the measured
    // adapter-loading time per step added as it was spent.
    private void scheduler(List<TimingRow> out, Csv c) {
        if (c == null) {
            return;
        }
        CalibrationSetup.SchedulerOverheadRun run = setup.schedulerOverheadRun();
        for (int i = 0; i < c.size(); i++) {
            double steps = c.number(i, "engine_steps");
            double rate = c.number(i, "completed_requests") / c.number(i, "duration_s");
            double loadMs = c.number(i, "lora_loading_time_s") / steps * 1e3;
            // an overloaded run's engine never idles, so its duration over its steps is its mean step: compared with
            // that, not with its ITL, which holds the gaps of preempted requests (265 ms against 124 ms steps at 8
            // slots and 1,045 sequences); a run that keeps up idles between requests, so its ITL is its step
            boolean busy = c.number(i, "mean_waiting_requests") > MeasuredRuns.OVERLOADED_QUEUE;
            out.add(new TimingRow(
                    "scheduler_overhead_itl",
                    SCHEDULER,
                    schedulerKey(c, i),
                    busy ? "mean_step_ms" : "mean_itl_ms",
                    busy ? c.number(i, "duration_s") / steps * 1e3 : c.number(i, "mean_itl_ms"),
                    new StepScenario(
                                    c.number(i, "mean_running_batch") + 1,
                                    run.promptTokens() + run.outputTokens() / 2.0,
                                    0,
                                    run.promptTokens(),
                                    rate,
                                    c.number(i, "mean_waiting_requests"),
                                    (int) c.number(i, "max_loras"),
                                    c.number(i, "mean_distinct_adapters_per_batch"),
                                    (int) c.number(i, "adapter_rank"),
                                    loadMs,
                                    slotsBlocked(c, i))
                            // ten minutes of Poisson arrivals use every served adapter, and slots keep them until
                            // evicted
                            .withLoaded(Math.min(c.number(i, "max_loras"), c.number(i, "served_adapters")))));
        }
    }
}
