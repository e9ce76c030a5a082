package io.twinserve.experiments.whatif;

import io.twinserve.placement.PlacementModel;
import io.twinserve.placement.Planner;
import io.twinserve.placement.SweepSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.PerfModelSpec;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * The deployment a plan is for ({@code plan --deployment}, {@code deployment} in {@code POST /api/plans}), checked
 * against the placement model: the plan's base model and pools, and the note on the settings where it differs from
 * the training grid's. Without a deployment: the request's base model (or {@link PlanRequest#DEFAULT_BASE_MODEL})
 * and pools, and no note.
 *
 * @param spec the deployment (null: none; the twin verifies with the training grid's settings)
 * @param name how messages and the plan's document name it (null without one)
 * @param baseModel the plan's base model
 * @param pools the pools the plan may use (null: any)
 * @param note the settings where it differs from the training grid (null: none, or no deployment)
 */
public record PlanDeployment(DeploymentSpec spec, String name, String baseModel, List<String> pools, String note) {

    /**
     * Reads and checks the request's deployment: its model must be the base model asked for (when one is) and one the
     * placement model was trained on, its GPU a trained pool's (within the pools asked for, each a trained pool), its
     * performance model readable and fitted for its model and GPU. Throws {@link PlanInputException} naming the
     * request field otherwise.
     */
    static PlanDeployment of(PlanRequest q, Profiles profiles) throws IOException {
        if (q.deployment() == null) {
            return new PlanDeployment(
                    null,
                    null,
                    q.baseModel() == null ? PlanRequest.DEFAULT_BASE_MODEL : q.baseModel(),
                    q.pools(),
                    null);
        }
        DeploymentSpec d =
                Deployments.parse(q.deployment().yaml(), q.deployment().file());
        Checks c = new Checks(q, d, profiles);
        String model = c.baseModel();
        List<String> pools = c.pools(model);
        c.perfModel(model);
        return new PlanDeployment(d, c.name, model, pools, c.note(model));
    }

    /** The checks of one request's deployment, with the training spec read once. */
    private static final class Checks {
        private final PlanRequest q;
        private final DeploymentSpec d;
        private final Profiles profiles;
        private final PlacementModel model;
        private final Planner planner;
        private final SweepSpec training;
        private final String name;

        Checks(PlanRequest q, DeploymentSpec d, Profiles profiles) {
            this.q = q;
            this.d = d;
            this.profiles = profiles;
            this.model = q.model();
            this.planner = new Planner(model);
            this.training = planner.trainingSpec();
            this.name = q.deployment().file() == null
                    ? "deployment " + d.name()
                    : q.deployment().file().toString();
        }

        /** The deployment's model by its profile name: the base model asked for, when one is, and a trained one. */
        String baseModel() {
            if (q.baseModel() != null && !sameModel(q.baseModel(), d.model())) {
                throw new PlanInputException(
                        "base_model",
                        f(
                                "base model: the plan asks for %s, but %s serves %s; name one of them (the deployment's"
                                        + " model is the plan's when the base model is left out)",
                                q.baseModel(), name, d.model()));
            }
            String served = modelName(d.model());
            List<String> trained = model.meta().categories().getOrDefault("model", List.of());
            if (!trained.isEmpty() && !trained.contains(served)) {
                throw new PlanInputException(
                        "deployment",
                        f(
                                "deployment: %s serves %s, but the placement model (%s) was trained on %s; plan for a"
                                        + " deployment of one of those, or train a model whose sweep has %s"
                                        + " (docs/placement.md)",
                                name, served, model.source(), String.join(", ", trained), served));
            }
            return served;
        }

        /**
         * The trained pools of the deployment's GPU, within the pools asked for (each a trained pool), that {@code
         * served} was trained on.
         */
        List<String> pools(String served) {
            String gpu = gpuName(d.gpu());
            List<String> trained = model.meta().categories().getOrDefault("pool", List.of());
            List<String> known = new ArrayList<>();
            List<String> names = new ArrayList<>();
            List<String> mine = new ArrayList<>();
            if (training != null) {
                for (SweepSpec.PoolEntry p : training.pools()) {
                    // (the pools this model was trained on: a model of several grids knows other GPUs for some models)
                    if (!trained.contains(p.name()) || !planner.trainedOn(served, p.name())) {
                        continue;
                    }
                    known.add("pool " + p.name() + " (GPU " + p.gpu() + ")");
                    names.add(p.name());
                    if (gpuName(p.gpu()).equals(gpu)) {
                        mine.add(p.name());
                    }
                }
            }
            String knownText = known.isEmpty() ? "no pools it records" : String.join(", ", known);
            if (q.pools() != null) {
                List<String> unknown =
                        q.pools().stream().filter(p -> !names.contains(p)).toList();
                if (!unknown.isEmpty()) {
                    throw new PlanInputException(
                            "pools",
                            f(
                                    "pools: %s %s not among the placement model's (%s)",
                                    String.join(", ", unknown), unknown.size() == 1 ? "is" : "are", knownText));
                }
            }
            if (mine.isEmpty()) {
                throw new PlanInputException(
                        "deployment",
                        f(
                                "deployment: %s runs on GPU %s, but the placement model (%s) was trained for %s on %s; plan"
                                        + " for a deployment on one of those GPUs, or train a model whose sweep has a pool"
                                        + " of %s (docs/placement.md)",
                                name, d.gpu(), model.source(), served, knownText, d.gpu()));
            }
            if (q.pools() != null && !q.pools().isEmpty()) {
                List<String> both = mine.stream().filter(q.pools()::contains).toList();
                if (both.isEmpty()) {
                    throw new PlanInputException(
                            "pools",
                            f(
                                    "pools: %s runs on GPU %s (pool %s), but the plan may use only %s; drop the pools or"
                                            + " name %s",
                                    name,
                                    d.gpu(),
                                    String.join(", ", mine),
                                    String.join(", ", q.pools()),
                                    mine.getFirst()));
                }
                return both;
            }
            return mine;
        }

        /**
         * The deployment's performance model as its runs will read it: a calibration that exists and was fitted for
         * its model and GPU, a profiled table that exists. Checked here, so that a broken one is one clear error
         * rather than every twin run of the verification reading as a configuration that does not start. (The same
         * comparison as {@link Deployments#resolve}'s, worded for the plan, which names both sides.)
         */
        void perfModel(String served) throws IOException {
            if (d.perfModel() instanceof PerfModelSpec.Profiled p && !Files.isRegularFile(Path.of(p.table()))) {
                throw new PlanInputException(
                        "deployment",
                        f(
                                "deployment: %s: perf_model.table %s is not a file (a Vidur-format mlp.csv, relative to"
                                        + " the working directory)",
                                name, p.table()));
            }
            if (d.perfModel().calibration() == null) {
                return;
            }
            Calibration c;
            try {
                c = Deployments.calibration(d.perfModel().calibration());
            } catch (SpecException e) {
                throw new PlanInputException("deployment", "deployment: " + name + ": " + e.getMessage());
            }
            if (!gpuName(c.gpu()).equals(gpuName(d.gpu()))
                    || !modelName(c.model()).equals(served)) {
                throw new PlanInputException(
                        "deployment",
                        f(
                                "deployment: %s: perf_model.calibration %s was fitted for %s on %s, but the deployment"
                                        + " serves %s on %s; choose a calibration for this model and GPU, or none",
                                name, d.perfModel().calibration(), c.model(), c.gpu(), served, d.gpu()));
            }
        }

        /**
         * What a deployment changes: the twin's runs take its replica settings and performance model; the trees were
         * trained on the grid's, so the note names every setting where the two differ (null: none).
         */
        String note(String served) {
            if (training == null) {
                return null;
            }
            List<String> differ = new ArrayList<>(differences(d.replica(), training.replica()));
            List<String> trainedCalibrations = training.models().stream()
                    .filter(m -> sameModel(m.model(), served))
                    .flatMap(m -> m.calibrations().stream())
                    .toList();
            if (!(d.perfModel() instanceof PerfModelSpec.Roofline r
                    && r.calibration() != null
                    && trainedCalibrations.contains(r.calibration()))) {
                differ.add("perf_model "
                        + (d.perfModel() instanceof PerfModelSpec.Profiled p
                                ? "profiled (" + p.table() + ")"
                                : d.perfModel().calibration() == null
                                        ? "roofline, uncalibrated"
                                        : "calibration " + d.perfModel().calibration())
                        + " (trained "
                        + (trainedCalibrations.isEmpty() ? "uncalibrated" : String.join(", ", trainedCalibrations))
                        + ")");
            }
            if (differ.isEmpty()) {
                return null;
            }
            return f(
                    "%s differs from the settings the trees were trained with: %s; the trees' prediction is for the"
                            + " training settings, %s",
                    name,
                    String.join(", ", differ),
                    q.verify()
                            ? "the verification and its search run the deployment's"
                            : "add " + q.verifyOption() + " to run the plan with the deployment's");
        }

        private boolean sameModel(String a, String b) {
            return a.equals(b) || modelName(a).equals(modelName(b));
        }

        private String modelName(String nameOrPath) {
            try {
                return profiles.model(nameOrPath).name();
            } catch (RuntimeException e) {
                return nameOrPath;
            }
        }

        private String gpuName(String gpu) {
            try {
                return profiles.gpu(gpu).name();
            } catch (RuntimeException e) {
                return gpu;
            }
        }
    }

    /**
     * The replica settings a plan does not choose (it sets slots, rank, tp and KV) where {@code d} differs from the
     * grid. {@code max_cpu_adapters} is left out: the twin's runs hold at least every served adapter in host memory
     * either way, and a replica's runs have no other adapters. ({@code ServingSettings#differences} compares resolved
     * scheduler settings, slots and KV included, for the live engine against its twin; this compares the specs.)
     */
    static List<String> differences(ReplicaSpec d, ReplicaSpec grid) {
        List<String> out = new ArrayList<>();
        differ(out, "gpu_memory_utilization", d.gpuMemoryUtilization(), grid.gpuMemoryUtilization());
        differ(out, "max_num_seqs", d.maxNumSeqs(), grid.maxNumSeqs());
        differ(out, "max_num_batched_tokens", d.maxNumBatchedTokens(), grid.maxNumBatchedTokens());
        differ(out, "block_size", d.blockSize(), grid.blockSize());
        differ(out, "chunked_prefill", d.chunkedPrefill(), grid.chunkedPrefill());
        differ(out, "prefix_caching", d.prefixCaching(), grid.prefixCaching());
        differ(out, "max_model_len", d.maxModelLen(), grid.maxModelLen());
        differ(out, "adapter_load", d.adapterLoad(), grid.adapterLoad());
        differ(out, "weight_dtype", d.weightDtype(), grid.weightDtype());
        differ(out, "kv_cache_dtype", d.kvCacheDtype(), grid.kvCacheDtype());
        differ(out, "speculative", d.speculative() == null ? "off" : "on", grid.speculative() == null ? "off" : "on");
        return out;
    }

    private static void differ(List<String> out, String key, Object mine, Object grid) {
        if (!Objects.equals(mine, grid)) {
            out.add(key + " " + show(mine) + " (trained " + show(grid) + ")");
        }
    }

    private static String show(Object v) {
        return v == null ? "default" : v instanceof Enum<?> e ? e.name().toLowerCase(Locale.ROOT) : v.toString();
    }

    private static String f(String fmt, Object... args) {
        return String.format(Locale.ROOT, fmt, args);
    }
}
