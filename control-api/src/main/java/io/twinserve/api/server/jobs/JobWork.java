package io.twinserve.api.server.jobs;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.experiments.whatif.ClusterWhatIf;
import io.twinserve.experiments.whatif.InvalidSweepException;
import io.twinserve.experiments.whatif.PlanInputException;
import io.twinserve.experiments.whatif.PlanRequest;
import io.twinserve.experiments.whatif.Progress;
import io.twinserve.experiments.whatif.ReplicaWhatIf;
import io.twinserve.experiments.whatif.SpecSweep;
import io.twinserve.experiments.whatif.SpecText;
import io.twinserve.experiments.whatif.WhatIfOptions;
import io.twinserve.experiments.whatif.WhatIfRunner;
import io.twinserve.placement.Labels;
import io.twinserve.placement.PlacementModel;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.capacity.CapacitySearch;
import io.twinserve.twin.capacity.CapacitySpec;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a job runs, read from its request body: a single-replica or cluster simulation (what-if) or a plan,
 * as the typed input of the {@link WhatIfRunner}. Reading checks the request, so that a bad one (a spec
 * the parser refuses, a sweep key no spec has) is refused when the job is submitted, naming the field.
 */
sealed interface JobWork {
    /** Runs the work; returns the JSON document of its result (as {@code twinserve what-if/plan --json} prints it). */
    Object run(Progress progress) throws Exception;

    /** A simulation of one replica (a deployment spec), once or over a sweep. */
    record Replica(ReplicaWhatIf whatIf) implements JobWork {
        @Override
        public Object run(Progress progress) throws Exception {
            return new WhatIfRunner(Profiles.builtIn())
                    .replica(whatIf, progress)
                    .document();
        }
    }

    /** A simulation of a cluster (a cluster spec), once or over a sweep. */
    record Cluster(ClusterWhatIf whatIf) implements JobWork {
        @Override
        public Object run(Progress progress) throws Exception {
            return new WhatIfRunner(Profiles.builtIn())
                    .cluster(whatIf, progress)
                    .document();
        }
    }

    /**
     * A plan of the workload (by the defaults of {@code twinserve plan}: the shipped placement model, rank 16,
     * no feature overrides, a search budget of 12 unless the request gives one), optionally verified in the twin, on a deployment's replica
     * settings when one is given (null: the training grid's; a null base model is the deployment's).
     */
    record Plan(
            SpecText workload,
            String baseModel,
            List<String> pools,
            String objective,
            boolean verify,
            int searchBudget,
            SpecText deployment)
            implements JobWork {
        @Override
        public Object run(Progress progress) throws Exception {
            return new WhatIfRunner(Profiles.builtIn())
                    .plan(request(), progress)
                    .document();
        }

        PlanRequest request() throws IOException {
            return new PlanRequest(
                    workload,
                    null,
                    16,
                    baseModel,
                    pools,
                    objective,
                    PlacementModel.builtIn(),
                    null,
                    verify,
                    null,
                    searchBudget,
                    deployment == null ? null : deployment.named(Path.of("the deployment"), deployment.baseDir()),
                    PlanRequest.API_VERIFY);
        }
    }

    /**
     * A capacity search (docs/capacity-search.md): every candidate deployment of the spec searched for the highest
     * rate it sustains within the SLO, one simulation after another (a job has one core).
     */
    record Capacity(CapacitySpec spec, Path baseDir) implements JobWork {
        @Override
        public Object run(Progress progress) throws Exception {
            CapacitySearch search = new CapacitySearch(spec, baseDir, Profiles.builtIn());
            int total = search.candidates().size();
            CapacitySearch.Result result =
                    search.run(1, done -> progress.update((double) done / total, done + "/" + total + " candidates"));
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("name", result.name());
            doc.put("target_scale", result.targetScale());
            doc.put("candidates", result.candidates());
            return doc;
        }
    }

    /** The most candidates one capacity-search job may evaluate (the built-in search has 120). */
    int MAX_CAPACITY_CANDIDATES = 240;

    /** The built-in capacity search and its workload, as {@code twinserve capacity} runs them. */
    static String builtInCapacity(String name) {
        try (var in = JobWork.class.getClassLoader().getResourceAsStream("io/twinserve/api/builtin/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing built-in " + name);
            }
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /**
     * Reads a request. Simulations: {@code workload} (a workload spec) with {@code deployment} (one replica)
     * or {@code cluster} (a cluster spec), optional {@code sweep}, {@code seed}, {@code window_s}. Plans:
     * {@code workload} and optional {@code base_model}, {@code pools}, {@code objective}, {@code verify},
     * {@code deployment} (the replica settings the twin verifies with).
     * Spec objects are written as files in the job's folder {@code dir} (relative paths in them are read from
     * there); with no folder (checking a request at submission) nothing is written.
     */
    static JobWork read(String kind, ObjectNode r, Path dir) {
        JsonNode workload = r.get("workload");
        if (workload != null && !workload.isNull() && !workload.isObject()) {
            throw ApiException.badRequest(
                    "workload", "'workload' must be a workload spec object (docs/workload-spec.md)");
        }
        boolean hasWorkload = workload != null && !workload.isNull();
        Path folder = dir != null ? dir : Path.of("job");
        try {
            if (kind.equals("simulation")) {
                JsonNode deployment = r.get("deployment");
                JsonNode cluster = r.get("cluster");
                if ((deployment == null || deployment.isNull()) == (cluster == null || cluster.isNull())) {
                    throw ApiException.badRequest(
                            "deployment",
                            "a simulation needs exactly one of 'deployment' (a deployment"
                                    + " spec, docs/deployment-spec.md) and 'cluster' (a cluster spec, docs/cluster-spec.md)");
                }
                SpecText deploymentSpec = null;
                SpecText clusterSpec = null;
                if (deployment != null && !deployment.isNull()) {
                    requireObject(deployment, "deployment");
                    deploymentSpec = spec(dir, folder, "deployment", deployment);
                } else {
                    requireObject(cluster, "cluster");
                    clusterSpec = spec(dir, folder, "cluster", cluster);
                }
                SpecText workloadSpec = hasWorkload ? spec(dir, folder, "workload", workload) : null;
                if (hasWorkload) {
                    JobLimits.check(WorkloadSpecs.parse(workload.toString(), null), "workload");
                }
                SpecSweep sweep = sweep(r.get("sweep"));
                JobLimits.check(sweep);
                Integer seed = Bodies.optionalInt(r, "seed", Integer.MIN_VALUE, Integer.MAX_VALUE);
                Double window = Bodies.optionalDouble(r, "window_s", 1e-3, 1e7);
                WhatIfOptions options = new WhatIfOptions(
                        seed == null ? null : seed.longValue(), window, false, 16, null, null, 1, false);
                try {
                    if (clusterSpec != null) {
                        // its messages name "the cluster" and "the workload", not files in the job's folder
                        ClusterWhatIf q = new ClusterWhatIf(
                                clusterSpec.named(Path.of("the cluster"), clusterSpec.baseDir()),
                                workloadSpec == null ? null : workloadSpec.file(),
                                sweep,
                                options,
                                "the workload");
                        WhatIfRunner.checkSweep(q);
                        return new Cluster(q);
                    }
                    // the run's messages (its notices, an error) name the request's fields, not the job folder's files
                    ReplicaWhatIf q = new ReplicaWhatIf(
                            workloadSpec == null
                                    ? SpecText.builtInWorkload()
                                    : workloadSpec.named(Path.of("the workload"), workloadSpec.baseDir()),
                            null,
                            deploymentSpec == null
                                    ? null
                                    : deploymentSpec.named(Path.of("the deployment"), deploymentSpec.baseDir()),
                            sweep,
                            options);
                    WhatIfRunner.checkSweep(q);
                    return new Replica(q);
                } catch (InvalidSweepException e) {
                    throw ApiException.badRequest("sweep", "'sweep' key '" + e.key() + "': " + e.problem());
                }
            } else if (kind.equals("plan")) {
                SpecText workloadSpec = hasWorkload
                        ? spec(dir, folder, "workload", workload)
                        : PlanRequest.builtInWorkload(Path.of("").toAbsolutePath());
                if (hasWorkload) {
                    // a verified plan simulates the workload
                    JobLimits.check(WorkloadSpecs.parse(workload.toString(), null), "workload");
                }
                String base = Bodies.optionalString(r, "base_model");
                String objective = Bodies.optionalString(r, "objective");
                if (objective != null) {
                    try {
                        Labels.Objective.parse(objective);
                    } catch (IllegalArgumentException e) {
                        throw ApiException.badRequest("objective", "'objective': " + e.getMessage());
                    }
                }
                List<String> pools = null;
                JsonNode poolList = r.get("pools");
                if (poolList != null && !poolList.isNull()) {
                    if (!poolList.isArray()) {
                        throw ApiException.badRequest("pools", "'pools' must be a list of pool names");
                    }
                    pools = new ArrayList<>();
                    for (JsonNode p : poolList) {
                        pools.add(p.asText());
                    }
                }
                Boolean verify = Bodies.optionalBoolean(r, "verify");
                // each run of the search is a one-hour twin run: bounded, as the job's own budget bounds its time
                Integer searchBudget = Bodies.optionalInt(r, "search_budget", 0, 64);
                JsonNode deployment = r.get("deployment");
                SpecText deploymentSpec = null;
                if (deployment != null && !deployment.isNull()) {
                    requireObject(deployment, "deployment");
                    deploymentSpec = spec(dir, folder, "deployment", deployment);
                }
                Plan plan = new Plan(
                        workloadSpec,
                        base,
                        pools,
                        objective == null ? "cost" : objective,
                        verify != null && verify,
                        searchBudget == null ? 12 : searchBudget,
                        deploymentSpec);
                if (deploymentSpec != null && dir == null) {
                    // checked at submission: the deployment's model against base_model, its GPU against the pools
                    // the placement model knows
                    try {
                        new WhatIfRunner(Profiles.builtIn()).checkPlanDeployment(plan.request());
                    } catch (PlanInputException e) {
                        throw ApiException.badRequest(e.field(), e.getMessage());
                    }
                }
                return plan;
            } else if (kind.equals("capacity")) {
                JsonNode capacity = r.get("capacity");
                String text;
                if (capacity == null || capacity.isNull()) {
                    text = builtInCapacity("capacity.yaml");
                } else {
                    requireObject(capacity, "capacity");
                    text = pretty(capacity);
                }
                CapacitySpec cs;
                try {
                    cs = WorkloadSpecs.parse(text, null, CapacitySpec.class);
                } catch (SpecException e) {
                    String key = e.keyPath() == null || e.keyPath().isEmpty() ? "capacity" : "capacity." + e.keyPath();
                    throw ApiException.badRequest(key, "'" + key + "': " + e.problem());
                }
                // the spec names its workload file; the job's folder holds it: the one given, else the built-in one
                String workloadText = hasWorkload ? pretty(workload) : builtInCapacity("capacity-workload.yaml");
                if (hasWorkload) {
                    spec(null, folder, "workload", workload);
                    JobLimits.check(WorkloadSpecs.parse(workload.toString(), null), "workload");
                }
                if (dir != null) {
                    Files.writeString(folder.resolve(cs.workload()), workloadText);
                }
                long candidates = CapacitySearch.count(cs);
                if (candidates > MAX_CAPACITY_CANDIDATES) {
                    throw ApiException.badRequest(
                            "capacity.search",
                            "'capacity.search' makes " + candidates
                                    + " candidates; a job evaluates at most " + MAX_CAPACITY_CANDIDATES
                                    + " (narrow the pools, tp, replicas, slots or routers)");
                }
                return new Capacity(cs, folder.toAbsolutePath());
            } else {
                throw new IllegalArgumentException("unknown job kind " + kind);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot write the job's spec files in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static SpecSweep sweep(JsonNode sweep) {
        if (sweep == null || sweep.isNull()) {
            return SpecSweep.none();
        }
        if (!sweep.isArray()) {
            throw ApiException.badRequest("sweep", "'sweep' must be a list of \"key=v1,v2\" strings");
        }
        List<String> entries = new ArrayList<>();
        for (JsonNode s : sweep) {
            if (!s.isTextual() || !s.asText().contains("=")) {
                throw ApiException.badRequest(
                        "sweep", "'sweep' entries must look like \"replica.max_adapters=2,4\", got " + s);
            }
            entries.add(s.asText());
        }
        try {
            return SpecSweep.parse(entries);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest("sweep", e.getMessage().replace("--sweep", "'sweep'"));
        }
    }

    private static void requireObject(JsonNode n, String field) {
        if (!n.isObject()) {
            throw ApiException.badRequest(field, "'" + field + "' must be an object, got " + n.getNodeType());
        }
    }

    /**
     * JSON is YAML: the spec object becomes the spec's text as it came, after the spec parser has read it (so
     * a bad spec is refused when the job is submitted, naming the field), and its file in the job's folder.
     */
    private static SpecText spec(Path dir, Path folder, String field, JsonNode spec) throws IOException {
        try {
            switch (field) {
                case "deployment" -> WorkloadSpecs.parse(spec.toString(), null, DeploymentSpec.class);
                case "cluster" -> Clusters.parse(spec.toString(), null);
                default -> WorkloadSpecs.parse(spec.toString(), null);
            }
        } catch (SpecException e) {
            String key = e.keyPath() == null || e.keyPath().isEmpty() ? field : field + "." + e.keyPath();
            throw ApiException.badRequest(key, "'" + key + "': " + e.problem());
        }
        String text = pretty(spec);
        Path file = folder.resolve(field + ".yaml");
        if (dir != null) {
            Files.writeString(file, text);
        }
        return new SpecText(text, file, folder.toAbsolutePath());
    }

    private static String pretty(JsonNode spec) throws JsonProcessingException {
        return Bodies.JSON.writerWithDefaultPrettyPrinter().writeValueAsString(spec);
    }
}
