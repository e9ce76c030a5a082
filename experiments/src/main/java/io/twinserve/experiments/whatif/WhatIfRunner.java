package io.twinserve.experiments.whatif;

import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.memory.InsufficientGpuMemoryException;
import io.twinserve.twin.profile.Profiles;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Function;

/**
 * Runs what-ifs: a workload on one replica or on a cluster, once or over a sweep of spec keys (in parallel,
 * reporting each finished configuration to a {@link Progress}), and plans from the placement model with
 * their twin verification. The command line and the server's jobs both call it.
 */
public final class WhatIfRunner {
    private final Profiles profiles;

    /** A runner over these GPU and model profiles. */
    public WhatIfRunner(Profiles profiles) {
        this.profiles = Objects.requireNonNull(profiles, "profiles");
    }

    /**
     * A single-replica what-if. One configuration: its run, or its error thrown. A sweep: every configuration's
     * run, those that do not fit in GPU memory marked so; any other failure throws a
     * {@link SweepConfigurationException} naming its settings. A key path the specs cannot take throws first.
     */
    public ReplicaOutcome replica(ReplicaWhatIf q, Progress progress) throws Exception {
        List<Map<String, String>> configs = q.sweep().configurations();
        ReplicaRuns runs = new ReplicaRuns(q, profiles);
        List<ReplicaRuns.Edited> edited = new ArrayList<>();
        for (Map<String, String> c : configs) {
            edited.add(runs.edit(c));
        }
        if (edited.size() == 1) {
            ReplicaRun only = runs.simulate(edited.get(0), q.options().recordRequests());
            if (!only.ran()) {
                throw only.error();
            }
            progress.update(1, "1/1 configurations");
            return ReplicaOutcome.of(List.of(only));
        }
        requireNoRecords(q.options(), edited.size());
        List<ReplicaRun> done = inParallel(edited, q.options().threads(), e -> runs.simulate(e, false), progress);
        for (ReplicaRun r : done) {
            if (r.error() != null && !(r.error() instanceof InsufficientGpuMemoryException)) {
                throw new SweepConfigurationException(r.settings(), r.error());
            }
        }
        return ReplicaOutcome.of(done);
    }

    /**
     * A cluster what-if. One configuration: its run, or its error thrown. A sweep: every configuration's run,
     * those whose spec is invalid or cannot be placed marked so; any other failure throws a
     * {@link SweepConfigurationException} naming its settings.
     */
    public ClusterOutcome cluster(ClusterWhatIf q, Progress progress) throws Exception {
        List<Map<String, String>> configs = q.sweep().configurations();
        ClusterRuns runs = new ClusterRuns(q, profiles);
        if (configs.size() == 1) {
            ClusterRun only = runs.simulate(configs.get(0), q.options().recordRequests());
            if (!only.ran()) {
                throw only.error();
            }
            progress.update(1, "1/1 configurations");
            return new ClusterOutcome(List.of(only));
        }
        requireNoRecords(q.options(), configs.size());
        List<ClusterRun> done = inParallel(configs, q.options().threads(), c -> runs.simulate(c, false), progress);
        for (ClusterRun r : done) {
            if (r.error() != null && !(r.error() instanceof SpecException)) {
                throw new SweepConfigurationException(r.settings(), r.error());
            }
        }
        return new ClusterOutcome(done);
    }

    /** The workload as the planner reads it (measured from a trace or described from a spec), with notes. */
    public PlanWorkload planWorkload(PlanRequest q) throws Exception {
        return new Plans(profiles).workload(q);
    }

    /**
     * Checks a plan request's deployment (its model against the base model and the placement model's models, its
     * GPU against the pools, its performance model) without reading the workload; throws {@link PlanInputException}
     * that names the field.
     */
    public void checkPlanDeployment(PlanRequest q) throws IOException {
        new Plans(profiles).checkDeployment(q);
    }

    /** The plan for a workload read by {@link #planWorkload}, verified and searched around as {@code q} asks. */
    public PlanOutcome plan(PlanRequest q, PlanWorkload workload, Progress progress) throws Exception {
        return new Plans(profiles).plan(q, workload, progress);
    }

    /** The plan for the request's workload: {@link #planWorkload} then {@link #plan(PlanRequest, PlanWorkload, Progress)}. */
    public PlanOutcome plan(PlanRequest q, Progress progress) throws Exception {
        Plans plans = new Plans(profiles);
        return plans.plan(q, plans.workload(q), progress);
    }

    /**
     * Checks every value of every swept key against the specs before anything runs: each setting alone is
     * applied to the spec it edits, which is then parsed, so that a key the spec does not know (with the
     * parser's suggestion and the keys it expects), a list index it lacks or a value of the wrong type is
     * refused up front, as an {@link InvalidSweepException} naming the key.
     */
    public static void checkSweep(ReplicaWhatIf q) {
        for (SpecSweep.Axis axis : q.sweep().axes()) {
            boolean workloadKey = SpecSweep.isWorkloadKey(axis.key());
            for (String value : axis.values()) {
                Map<String, String> one = Map.of(axis.key(), value);
                check(axis, () -> {
                    if (workloadKey && q.workload() != null) {
                        WorkloadSpecs.parse(
                                SpecSweep.editReplicaSpec(q.workload().yaml(), one, true), null);
                    } else if (!workloadKey) {
                        WorkloadSpecs.parse(
                                SpecSweep.editReplicaSpec(q.deployment().yaml(), one, false),
                                null,
                                DeploymentSpec.class);
                    }
                });
            }
        }
    }

    /** {@link #checkSweep(ReplicaWhatIf)} for a cluster what-if: each setting alone applied to the cluster spec. */
    public static void checkSweep(ClusterWhatIf q) {
        for (SpecSweep.Axis axis : q.sweep().axes()) {
            for (String value : axis.values()) {
                check(
                        axis,
                        () -> Clusters.parse(
                                SpecSweep.editCluster(q.cluster().yaml(), Map.of(axis.key(), value)), null));
            }
        }
    }

    private interface Check {
        void run() throws Exception;
    }

    private static void check(SpecSweep.Axis axis, Check check) {
        try {
            check.run();
        } catch (SpecException e) {
            throw new InvalidSweepException(
                    axis.key(),
                    e.keyPath() == null || e.keyPath().startsWith("--sweep")
                            ? e.problem()
                            : e.keyPath() + " " + e.problem(),
                    e);
        } catch (Exception e) {
            throw new InvalidSweepException(axis.key(), e.getMessage(), e);
        }
    }

    private static void requireNoRecords(WhatIfOptions options, int configurations) {
        if (options.recordRequests()) {
            throw new IllegalArgumentException(
                    "per-request records are kept for one run; this sweep has " + configurations + " configurations");
        }
    }

    /** Runs every item on {@code threads} threads; results in input order, progress as each (in order) is done. */
    private static <I, O> List<O> inParallel(List<I> items, int threads, Function<I, O> run, Progress progress)
            throws Exception {
        List<O> out = new ArrayList<>();
        try (ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<O>> futures = new ArrayList<>();
            for (I item : items) {
                futures.add(pool.submit(() -> run.apply(item)));
            }
            for (Future<O> f : futures) {
                out.add(f.get());
                progress.update(
                        (double) out.size() / items.size(), out.size() + "/" + items.size() + " configurations");
            }
        }
        return out;
    }
}
