package io.twinserve.twin.calibrate;

import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.memory.MemoryCalibration;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.RooflineParams;
import io.twinserve.twin.perf.RooflineParams.Term;
import io.twinserve.twin.perf.RooflinePerfModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Fits the twin to a measurement set laid out like {@code calibration/vllm-0.8.5-h100-64gb}
 * and reproduces every measured row with the fitted twin.
 *
 * <ol>
 *   <li>Memory ({@link MemoryFit}) and adapter loads from host memory ({@link AdapterLoadFit}) and from
 *       storage ({@link StorageLoadFit}), by non-negative {@link LeastSquares}.
 *   <li>The scheduler's time per step against its running batch and waiting queue ({@link SchedulerTimeFit},
 *       linear least squares on the scheduler-overhead table).
 *   <li>The step costs ({@link TimingFit}): every timing family at once, each row priced as its run's
 *       typical step ({@link TimingRows}, {@link StepScenario}), by Levenberg-Marquardt on relative errors;
 *       then each family left out in turn and predicted from the others.
 * </ol>
 *
 * Every row is then reproduced: KV capacities and start failures by the memory model, loads by the load
 * model, timing rows by the fitted step, and the measured runs replayed in full ({@link MeasuredRuns}); each
 * model's rows and errors are summed up in its calibration's {@code fit} node ({@link FitSummary}).
 */
public final class Calibrator {

    /** The fitted calibrations and the reproduction of every input row. */
    public record Result(List<Calibration> calibrations, List<FitRow> rows) {

        /** The row with the largest absolute error. */
        public FitRow worst() {
            FitRow w = null;
            for (FitRow r : rows) {
                if (w == null || Math.abs(r.errorPct()) > Math.abs(w.errorPct())) {
                    w = r;
                }
            }
            return w;
        }
    }

    private final CalibrationSetup setup;
    private final Path dataDir;
    private final Profiles profiles;
    private final boolean replayPoisson;

    public Calibrator(CalibrationSetup setup, Path dataDir, Profiles profiles) {
        this(setup, dataDir, profiles, false);
    }

    private Calibrator(CalibrationSetup setup, Path dataDir, Profiles profiles, boolean replayPoisson) {
        this.setup = setup;
        this.dataDir = dataDir;
        this.profiles = profiles;
        this.replayPoisson = replayPoisson;
    }

    /**
     * This calibrator, also replaying the scheduler-overhead table's 788 ten-minute Poisson runs in full with
     * the fitted twin (minutes of simulation: opt-in).
     */
    public Calibrator replayingPoissonRuns() {
        return new Calibrator(setup, dataDir, profiles, true);
    }

    /** Reads {@code setup.yaml} of a calibration folder (its measurements are in {@code data/}). */
    public static Calibrator forFolder(Path folder, Profiles profiles) throws IOException {
        Path setupFile = folder.resolve("setup.yaml");
        if (!Files.isRegularFile(setupFile)) {
            throw new NoSuchFileException(
                    setupFile.toString(), null, "no setup.yaml: a calibration folder holds setup.yaml and data/");
        }
        CalibrationSetup s = WorkloadSpecs.parse(WorkloadSpecs.readText(setupFile), setupFile, CalibrationSetup.class);
        return new Calibrator(s, folder.resolve("data"), profiles);
    }

    public Result run() throws IOException {
        Csv kv = new Csv(dataDir.resolve(MemoryFit.FILE));
        Csv load = new Csv(dataDir.resolve(AdapterLoadFit.FILE));
        MemoryFit memoryFit = new MemoryFit(setup);
        FitSummary summary = new FitSummary(setup);
        Csv adapterRuns = Files.isRegularFile(dataDir.resolve(StorageLoadFit.FILE))
                ? new Csv(dataDir.resolve(StorageLoadFit.FILE))
                : null;
        GpuProfile gpu = profiles.gpu(setup.gpu());
        TimingRows timing = new TimingRows(dataDir, setup);
        double[] scheduler = SchedulerTimeFit.fit(timing.schedulerTimes());
        // the model the scheduler table belongs to goes first: its runs alone vary the batch and the adapter
        // mix together, so its per-token LoRA costs are lent to models without such runs
        List<Map.Entry<String, String>> models = new ArrayList<>(setup.models().entrySet());
        String donor = setup.schedulerOverheadRun() == null
                ? null
                : setup.schedulerOverheadRun().model();
        models.sort(
                (x, y) -> Boolean.compare(!x.getKey().equals(donor), !y.getKey().equals(donor)));
        RooflineParams lent = null;
        List<Calibration> calibrations = new ArrayList<>();
        List<FitRow> rows = new ArrayList<>();
        for (Map.Entry<String, String> e : models) {
            ModelProfile model = profiles.model(e.getValue());
            String name = e.getKey();
            List<FitRow> mine = new ArrayList<>();
            MemoryCalibration memory = memoryFit.fit(kv, name, model, gpu);
            RooflineParams params = RooflineParams.defaults();
            params = AdapterLoadFit.fit(load, name, model, gpu, params);
            params = StorageLoadFit.fit(adapterRuns, name, model, gpu, params);
            if (scheduler != null) {
                params = params.with(Term.PER_WAITING_NS, scheduler[2]).with(Term.PER_BLOCKED_WAITING_NS, scheduler[3]);
            }
            boolean own = lent == null;
            if (!own) {
                // the terms only the other model's data identify, borrowed (see docs/calibration.md)
                for (Term t : List.of(
                        Term.LORA_PER_TOKEN_NS, Term.LORA_PER_TOKEN_ADAPTER_NS, Term.LORA_PER_LOADED_ADAPTER_NS)) {
                    params = params.with(t, lent.get(t));
                }
            }
            List<TimingRow> timingRows = timing.rows(name);
            TimingFit fit = new TimingFit(
                    p -> new RooflinePerfModel(model, gpu, 1, p),
                    params,
                    TimingFit.freeParameters(name.equals(donor) ? scheduler : null, own));
            params = fit.fit(timingRows);
            List<TimingFit.HeldOut> heldOut = fit.leaveOneFamilyOut(timingRows);
            if (own) {
                lent = params;
            }
            mine.addAll(memoryFit.reproduce(kv, name, model, gpu, memory));
            mine.addAll(AdapterLoadFit.reproduce(load, name, model, gpu, params));
            mine.addAll(StorageLoadFit.reproduce(adapterRuns, name, model, gpu, params));
            mine.addAll(TimingFit.reproduce(timingRows, name, new RooflinePerfModel(model, gpu, 1, params)));
            if (name.equals(donor)) {
                mine.addAll(SchedulerTimeFit.reproduce(timing, name, scheduler));
            }
            MeasuredRuns replays = new MeasuredRuns(dataDir, setup, profiles, timing.client());
            mine.addAll(replays.reproduce(
                    replays.runs(name),
                    name,
                    model,
                    gpu,
                    memory,
                    params,
                    Runtime.getRuntime().availableProcessors()));
            if (replayPoisson) {
                mine.addAll(replays.reproducePoisson(
                        name, model, gpu, memory, params, Runtime.getRuntime().availableProcessors()));
            }
            rows.addAll(mine);
            calibrations.add(new Calibration(
                    setup.name() + "/" + model.name(),
                    setup.engine(),
                    gpu.name(),
                    model.name(),
                    memory,
                    params,
                    summary.fit(
                            mine, heldOut, name.equals(donor) ? scheduler : null, own ? null : donor, timing.client()),
                    summary.provenance()));
        }
        return new Result(calibrations, rows);
    }
}
