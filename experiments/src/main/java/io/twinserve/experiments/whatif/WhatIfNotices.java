package io.twinserve.experiments.whatif;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.cluster.ClusterDeploymentSpec;
import io.twinserve.twin.cluster.ClusterSpec;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.cluster.TrafficSpec;
import io.twinserve.twin.deploy.DeploymentSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * What a user should know about a what-if's inputs before trusting its figures, said the same way by {@code
 * twinserve what-if} (before the run) and in every run's document (the command's {@code --json}, the API's
 * what-if jobs): the workload's lengths that its caps change wholesale ({@link WorkloadGenerator#warnings}),
 * and prefixes the deployment will not cache.
 */
public final class WhatIfNotices {
    /** Requests of a trace looked at for prefix hashes (the first this many). */
    static final int PREFIX_PROBE = 2_000;

    /**
     * One notice: {@code warning} (the inputs are not what they seem) or {@code note} (a setting the user may
     * have meant otherwise).
     */
    public record Notice(String level, String message) {
        /** The line the command prints. */
        public String line() {
            return level + ": " + message;
        }
    }

    private WhatIfNotices() {}

    /**
     * The notices of one configuration of {@code q}: its workload spec or trace, {@code workload} and {@code
     * deployment} as that configuration reads them (the workload null for a trace); no prefix note when the sweep
     * compares prefix caching itself.
     */
    public static List<Notice> of(ReplicaWhatIf q, WorkloadSpec workload, DeploymentSpec deployment) {
        return of(
                workload,
                q.workload() == null ? null : q.workload().file(),
                q.workload() == null ? null : q.workload().baseDir(),
                q.trace(),
                deployment,
                q.deployment().file(),
                !q.sweep().varies("replica.prefix_caching"));
    }

    /**
     * The notices of one configuration.
     *
     * @param workload the workload spec (null for a trace)
     * @param workloadFile where the spec came from (named in the messages)
     * @param baseDir the spec's base folder (its empirical length files)
     * @param trace the trace file (null for a spec)
     * @param deployment the deployment spec
     * @param deploymentFile where it came from
     * @param prefixNote whether to look for prefixes the deployment will not cache (false when a sweep compares
     *     prefix caching itself)
     */
    static List<Notice> of(
            WorkloadSpec workload,
            Path workloadFile,
            Path baseDir,
            Path trace,
            DeploymentSpec deployment,
            Path deploymentFile,
            boolean prefixNote) {
        List<Notice> out = new ArrayList<>();
        if (workload != null) {
            for (String w : WorkloadGenerator.warnings(workload, baseDir)) {
                out.add(new Notice("warning", workloadFile + ": " + w));
            }
        }
        String unused = prefixNote
                ? unusedPrefixes(
                        workload,
                        workloadFile,
                        trace,
                        deployment.replica().prefixCaching(),
                        deploymentFile.toString(),
                        "replica.prefix_caching")
                : null;
        if (unused != null) {
            out.add(new Notice("note", unused));
        }
        return out;
    }

    /**
     * When the workload's requests carry prefix-block hashes (a trace's, or a spec's multi-turn sessions) that a
     * prefix cache would reuse but the deployment's is off (the built-in deployment's, as in the study), the run
     * reads a hit rate of 0 and prefills every prompt in full: says so. Null otherwise, and for a trace that
     * cannot be read (the run reports that).
     */
    static String unusedPrefixes(
            WorkloadSpec workload,
            Path workloadFile,
            Path trace,
            boolean prefixCaching,
            String deploymentLabel,
            String sweepKey) {
        if (prefixCaching) {
            return null;
        }
        String what;
        if (trace != null) {
            int seen = 0;
            int hashed = 0;
            try (TraceReader r = TraceReaders.open(trace, ReadOptions.defaults())) {
                Request q;
                while (seen < PREFIX_PROBE && (q = r.next()) != null) {
                    seen++;
                    hashed += q.hasPrefixHashes() ? 1 : 0;
                }
            } catch (IOException | RuntimeException e) {
                return null;
            }
            if (hashed == 0) {
                return null;
            }
            what = String.format(
                    Locale.ROOT,
                    "%s: %,d of its first %,d requests carry prefix-block hashes",
                    workloadFile != null ? workloadFile : trace,
                    hashed,
                    seen);
        } else if (workload != null && workload.sessions() != null) {
            what = workloadFile + ": its multi-turn sessions repeat each earlier turn as the next prompt's prefix";
        } else {
            return null;
        }
        return what + ", which a prefix cache would reuse, but " + deploymentLabel
                + " has replica.prefix_caching: false, so every prompt is prefilled in full (a sweep of " + sweepKey
                + "=true,false compares)";
    }

    /**
     * The notices of a cluster what-if's spec as given (each configuration's run has its own): what {@code what-if
     * --cluster} prints before the run. None when the spec cannot be read; the run reports that.
     */
    public static List<Notice> of(ClusterWhatIf q) {
        try {
            ClusterSpec spec = ClusterRuns.withTraffic(
                    Clusters.parse(q.cluster().yaml(), q.cluster().file()), q);
            return ofCluster(spec, q);
        } catch (RuntimeException e) {
            return List.of();
        }
    }

    /**
     * The notices of one configuration of a cluster what-if, per traffic entry: its workload spec's lengths that the
     * caps change, and prefixes (a spec's sessions, a trace's hashes) that the deployment it goes to will not cache;
     * no prefix note for a deployment whose prefix caching the sweep compares. A workload that cannot be read is
     * left to the run, which reports it.
     *
     * @param spec the cluster spec as this configuration reads it (its traffic {@link ClusterRuns#withTraffic}'s)
     * @param q the what-if: the folder the traffic's workload paths are relative to, the cluster file and the
     *     workload's name (named in the messages), the sweep (its keys decide the prefix note) and the seed the caps
     *     warning's estimate draws with (null: each workload's own)
     */
    public static List<Notice> ofCluster(ClusterSpec spec, ClusterWhatIf q) {
        Path baseDir = q.cluster().baseDir();
        Path clusterFile = q.cluster().file();
        SpecSweep sweep = q.sweep();
        Long seed = q.options().seed();
        List<Notice> out = new ArrayList<>();
        List<ClusterDeploymentSpec> deployments = spec.deployments();
        for (TrafficSpec t : spec.traffic()) {
            int at = -1;
            for (int i = 0; i < deployments.size(); i++) {
                if (t.deployment() == null
                        ? deployments.size() == 1
                        : deployments.get(i).name().equals(t.deployment())) {
                    at = i;
                }
            }
            Path file = baseDir == null ? Path.of(t.workload()) : baseDir.resolve(t.workload());
            // named as the spec writes it (a path the run made absolute inside the spec's folder, relative to it)
            Path written = Path.of(t.workload());
            Path shown = q.workload() != null && q.workloadName() != null
                    ? Path.of(q.workloadName())
                    : baseDir != null && written.isAbsolute() && written.startsWith(baseDir.toAbsolutePath())
                            ? baseDir.toAbsolutePath().relativize(written)
                            : written;
            WorkloadSpec workload = null;
            Path trace = null;
            if (ClusterTraffic.isYaml(file)) {
                try {
                    workload = WorkloadSpecs.parse(WorkloadSpecs.readText(file), file);
                    if (seed != null) {
                        workload = workload.withSeed(seed);
                    }
                } catch (IOException | RuntimeException e) {
                    continue;
                }
                for (String w : WorkloadGenerator.warnings(
                        workload, file.toAbsolutePath().getParent())) {
                    out.add(new Notice("warning", shown + ": " + w));
                }
            } else {
                trace = file;
            }
            if (at < 0) {
                continue;
            }
            String key = "deployments[" + at + "].replica.prefix_caching";
            String unused = sweep.varies(key)
                    ? null
                    : unusedPrefixes(
                            workload,
                            shown,
                            trace,
                            deployments.get(at).replica().prefixCaching(),
                            "deployment " + deployments.get(at).name() + " of " + clusterFile,
                            key);
            if (unused != null) {
                out.add(new Notice("note", unused));
            }
        }
        return out;
    }
}
