package io.twinserve.engine.backend;

import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.backend.cuda.CudaBackend;
import io.twinserve.engine.backend.sim.SimulatedBackend;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.perf.PerfModel;
import io.twinserve.twin.sched.SchedulerConfig;
import java.util.Objects;

/**
 * Which backend to build and what it is built from; {@link Backends#create} turns it into the backend.
 * The type parameter is the backend class a spec builds, so a caller that needs a backend's own methods
 * (the CPU backend's threads, say) gets that class without a cast.
 *
 * @param <B> the backend this spec builds
 */
public sealed interface BackendSpec<B extends Backend> {

    /**
     * The CPU backend over a model's files, which the caller opened and closes after the backend.
     *
     * @param options tensor parallelism, threads, KV cache, block size, adapter slots and KV dtype
     */
    record Cpu(ModelFiles model, CpuBackend.Options options) implements BackendSpec<CpuBackend> {
        public Cpu {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(options, "options");
        }
    }

    /**
     * A backend that runs no model but waits the twin's predicted times (see {@link SimulatedBackend}).
     *
     * @param perf prices steps and adapter loads
     * @param scheduler the replica's limits: KV cache, block size, adapter slots and their rank
     * @param served the served model's configuration
     * @param timeScale how many times faster than real time to run, at least
     *     {@link SimulatedBackend#MIN_TIME_SCALE}
     */
    record Simulated(PerfModel perf, SchedulerConfig scheduler, ModelConfig served, double timeScale)
            implements BackendSpec<SimulatedBackend> {
        public Simulated {
            Objects.requireNonNull(perf, "perf");
            Objects.requireNonNull(scheduler, "scheduler");
            Objects.requireNonNull(served, "served");
            SimulatedBackend.requireTimeScale(timeScale);
        }

        /** A replica of a resolved deployment whose model is known only by its profile. */
        public static Simulated of(ResolvedReplica replica, double timeScale) {
            return new Simulated(
                    replica.perf(), replica.scheduler(), SimulatedBackend.modelConfig(replica.model()), timeScale);
        }
    }

    /**
     * The CUDA backend on device {@code device} over a model's files, which the caller opened and closes after
     * the backend. Refused before anything is uploaded when the device's memory cannot hold it (the shortfall
     * named, as the twin names it).
     */
    record Cuda(ModelFiles model, CudaBackend.Sizing sizing, int device) implements BackendSpec<CudaBackend> {
        public Cuda {
            Objects.requireNonNull(model, "model");
            Objects.requireNonNull(sizing, "sizing");
            if (device < 0) {
                throw new IllegalArgumentException("CUDA device must be >= 0, got " + device);
            }
        }
    }
}
