package io.twinserve.twin.deploy;

import io.twinserve.twin.memory.MemoryBreakdown;
import io.twinserve.twin.perf.Calibration;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.profile.GpuProfile;
import io.twinserve.twin.profile.ModelProfile;
import io.twinserve.twin.sched.SchedulerConfig;

/** A deployment resolved against profiles and a calibration: everything a simulation needs. */
public record ResolvedReplica(
        DeploymentSpec spec,
        ModelProfile model,
        GpuProfile gpu,
        Calibration calibration,
        MemoryBreakdown memory,
        PerfModel perf,
        SchedulerConfig scheduler) {}
