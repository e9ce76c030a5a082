package io.twinserve.engine.backend;

import io.twinserve.engine.backend.cpu.CpuBackend;
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
        };
        return (B) backend;
    }
}
