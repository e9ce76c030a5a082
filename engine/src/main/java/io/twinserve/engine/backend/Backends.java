package io.twinserve.engine.backend;

import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.backend.cuda.CudaBackend;
import io.twinserve.engine.backend.cuda.CudaDriver;
import io.twinserve.engine.backend.cuda.CudaMemoryPlan;
import io.twinserve.engine.backend.cuda.CudaUnavailableException;
import io.twinserve.engine.backend.cuda.DriverGpu;
import io.twinserve.engine.backend.sim.SimulatedBackend;

/** Builds a backend from its spec: the one place a backend is constructed outside its own package. */
public final class Backends {
    private Backends() {}

    /** The backend {@code spec} describes; the caller closes it. */
    @SuppressWarnings("unchecked") // each case builds the class its spec names as B
    public static <B extends Backend> B create(BackendSpec<B> spec) {
        Backend backend = switch (spec) {
            case BackendSpec.Cpu cpu -> new CpuBackend(cpu.model(), cpu.options());
            case BackendSpec.Simulated sim ->
                new SimulatedBackend(sim.perf(), sim.scheduler(), sim.served(), sim.timeScale());
            case BackendSpec.Cuda cuda -> cuda(cuda);
        };
        return (B) backend;
    }

    private static CudaBackend cuda(BackendSpec.Cuda spec) {
        int devices = CudaDriver.deviceCount();
        if (spec.device() >= devices) {
            throw new CudaUnavailableException("CUDA device " + spec.device() + " asked for; the driver sees " + devices
                    + " (tp x replicas must fit the machine's GPUs)");
        }
        CudaDriver driver = CudaDriver.open(spec.device());
        DriverGpu gpu = null;
        try {
            // the memory plan first: a model that cannot fit is refused with the shortfall, before any upload
            CudaMemoryPlan plan = CudaMemoryPlan.plan(
                    spec.model().config(), spec.sizing().request(driver.info().totalMemoryBytes()));
            gpu = new DriverGpu(driver, true);
            return new CudaBackend(spec.model(), spec.sizing().options(plan), gpu);
        } catch (RuntimeException | Error e) {
            // a backend that failed part-way (an upload, cuBLAS) leaves device memory, streams and a handle behind
            try {
                if (gpu != null) {
                    gpu.close();
                } else {
                    driver.close();
                }
            } catch (RuntimeException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }
}
