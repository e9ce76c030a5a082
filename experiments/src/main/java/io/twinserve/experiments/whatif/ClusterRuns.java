package io.twinserve.experiments.whatif;

import io.twinserve.traces.spec.SloSpec;
import io.twinserve.twin.cluster.ClusterDeploymentSpec;
import io.twinserve.twin.cluster.ClusterResult;
import io.twinserve.twin.cluster.ClusterSimulator;
import io.twinserve.twin.cluster.ClusterSpec;
import io.twinserve.twin.cluster.ClusterSummary;
import io.twinserve.twin.cluster.ClusterTraffic;
import io.twinserve.twin.cluster.Clusters;
import io.twinserve.twin.cluster.ResolvedCluster;
import io.twinserve.twin.cluster.TrafficSpec;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.slo.SloVerdict;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Runs one configuration of a cluster what-if: its edited cluster spec through the cluster simulator. */
final class ClusterRuns {
    private final ClusterWhatIf q;
    private final Profiles profiles;

    ClusterRuns(ClusterWhatIf q, Profiles profiles) {
        this.q = q;
        this.profiles = profiles;
    }

    /**
     * The cluster spec with the what-if's traffic: {@code --workload}'s, all of it to the one deployment, when given;
     * else the spec's own, which it must have.
     */
    static ClusterSpec withTraffic(ClusterSpec spec, ClusterWhatIf q) {
        Path file = q.cluster().file();
        if (q.workload() != null) {
            if (spec.deployments().size() > 1) {
                throw new IllegalArgumentException("--workload sends all traffic to one deployment, but " + file
                        + " has " + spec.deployments().size() + "; give each its traffic in the spec");
            }
            spec = new ClusterSpec(
                    spec.name(),
                    spec.pools(),
                    spec.deployments(),
                    List.of(new TrafficSpec(
                            null,
                            q.workload().toAbsolutePath().toString(),
                            1.0,
                            q.options().adapterRank())));
        }
        if (spec.traffic().isEmpty()) {
            throw new IllegalArgumentException(file
                    + " has no traffic section; add one, or give a workload (--workload FILE; 'workload' in the API)");
        }
        return spec;
    }

    /** The run of one configuration, or the error that stopped it (a key path the spec lacks, say). */
    ClusterRun simulate(Map<String, String> settings, boolean record) {
        WhatIfOptions o = q.options();
        Path file = q.cluster().file();
        try {
            String edited = SpecSweep.editCluster(q.cluster().yaml(), settings);
            ClusterSpec spec = Clusters.parse(edited, file);
            Path base = q.cluster().baseDir();
            spec = withTraffic(spec, q);
            ResolvedCluster cluster = Clusters.resolve(spec, profiles, base);
            try (ClusterTraffic traffic = ClusterTraffic.open(spec, base, 1.0, o.seed())) {
                Long window = o.windowS() != null ? o.windowNs() : traffic.windowNs();
                RunOptions options = new RunOptions(window, o.drain(), record, o.adapterRank(), true);
                List<ClusterSimulator.Traffic> sources = new ArrayList<>();
                for (ClusterSimulator.Traffic t : traffic.sources()) {
                    sources.add(o.maxOutstanding() == null ? t : t.withMaxOutstanding(o.maxOutstanding()));
                }
                ClusterResult result = new ClusterSimulator(cluster).run(sources, options);
                Map<String, SloVerdict> verdicts = new LinkedHashMap<>();
                for (ClusterSummary.DeploymentSummary d : result.summary().deployments()) {
                    ClusterDeploymentSpec ds = spec.deployments().stream()
                            .filter(x -> x.name().equals(d.name()))
                            .findFirst()
                            .orElseThrow();
                    verdicts.put(d.name(), SloVerdict.of(SloSpec.resolve(traffic.slo(d.name()), ds.slo(), o.slo()), d));
                }
                List<WhatIfNotices.Notice> notices;
                try {
                    notices = WhatIfNotices.ofCluster(spec, q);
                } catch (RuntimeException e) {
                    // a notice that cannot be worked out never fails a run
                    notices = List.of();
                }
                return new ClusterRun(settings, traffic.names(), result, verdicts, notices, null);
            }
        } catch (Exception e) {
            return ClusterRun.failed(settings, e);
        }
    }
}
