package io.twinserve.experiments.whatif;

import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.twin.client.ClientGate;
import io.twinserve.twin.deploy.DeploymentSpec;
import io.twinserve.twin.deploy.Deployments;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.profile.Profiles;
import io.twinserve.twin.sim.ReplicaSimulator;
import io.twinserve.twin.sim.RunOptions;
import io.twinserve.twin.sim.RunResult;
import io.twinserve.twin.slo.SloVerdict;
import java.io.IOException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Runs one configuration of a single-replica what-if: its edited specs through the replica simulator. */
final class ReplicaRuns {
    /** A configuration's settings and the spec texts they edited (the workload's is null for a trace). */
    record Edited(Map<String, String> settings, String workloadYaml, String deploymentYaml) {}

    private final ReplicaWhatIf q;
    private final Profiles profiles;

    ReplicaRuns(ReplicaWhatIf q, Profiles profiles) {
        this.q = q;
        this.profiles = profiles;
    }

    /** Applies a configuration's settings to the spec texts; a key path that cannot be set throws here. */
    Edited edit(Map<String, String> settings) throws IOException {
        return new Edited(
                settings,
                q.workload() == null
                        ? null
                        : SpecSweep.editReplicaSpec(q.workload().yaml(), settings, true),
                SpecSweep.editReplicaSpec(q.deployment().yaml(), settings, false));
    }

    /** The run of one configuration, or the error that stopped it (a configuration that does not fit, say). */
    ReplicaRun simulate(Edited run, boolean record) {
        WhatIfOptions o = q.options();
        try {
            DeploymentSpec d;
            try {
                d = WorkloadSpecs.parse(run.deploymentYaml(), q.deployment().file(), DeploymentSpec.class);
            } catch (SpecException e) {
                throw SpecSweep.attribute(e, run.settings(), false);
            }
            ResolvedReplica replica = Deployments.resolve(d, profiles);
            Map<String, Integer> ranks = new HashMap<>();
            TraceReader reader;
            String name;
            WorkloadSpec spec = null;
            SloSpec workloadSlo = null;
            Long window = o.windowNs();
            if (q.trace() != null) {
                reader = TraceReaders.open(q.trace(), ReadOptions.defaults());
                name = q.trace().getFileName().toString();
            } else {
                WorkloadSpec w;
                try {
                    w = WorkloadSpecs.parse(run.workloadYaml(), q.workload().file(), WorkloadSpec.class);
                } catch (SpecException e) {
                    throw SpecSweep.attribute(e, run.settings(), true);
                }
                if (o.seed() != null) {
                    w = w.withSeed(o.seed());
                }
                spec = w;
                WorkloadGenerator gen = new WorkloadGenerator(w, q.workload().baseDir());
                for (Adapter a : gen.adapters()) {
                    ranks.put(a.id(), a.rank());
                }
                reader = gen;
                workloadSlo = w.slo();
                name = w.name() != null
                        ? w.name()
                        : q.workload().file().getFileName().toString();
                if (window == null && w.durationS() != null) {
                    window = (long) (w.durationS() * 1e9);
                }
            }
            RunOptions options = new RunOptions(window, o.drain(), record, o.adapterRank(), true);
            try (reader) {
                RunResult result = new ReplicaSimulator(replica, ranks)
                        .run(ClientGate.forWorkload(reader, o.maxOutstanding()), options);
                SloVerdict verdict = SloVerdict.of(SloSpec.resolve(workloadSlo, d.slo(), o.slo()), result.summary());
                List<WhatIfNotices.Notice> notices;
                try {
                    notices = WhatIfNotices.of(q, spec, d);
                } catch (RuntimeException e) {
                    // a notice is advice: a run that completed stands without it
                    notices = List.of();
                }
                return new ReplicaRun(run.settings(), name, replica, result, verdict, null, notices);
            }
        } catch (Exception e) {
            return ReplicaRun.failed(run.settings(), e);
        }
    }
}
