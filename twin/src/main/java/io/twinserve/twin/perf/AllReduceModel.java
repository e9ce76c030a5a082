package io.twinserve.twin.perf;

import io.twinserve.traces.format.TraceFormatException;
import io.twinserve.traces.spec.SpecException;
import io.twinserve.twin.profile.GpuProfile;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** Prices one all-reduce across the GPUs of a tensor-parallel group, as the interconnect performs it. */
public interface AllReduceModel {

    /**
     * Duration of an all-reduce of a buffer of {@code bytes} bytes on each of {@code gpus} GPUs, in ns; 0
     * for one GPU, which has nothing to reduce.
     *
     * @throws IllegalArgumentException when the model cannot price that many GPUs
     */
    double allReduceNs(long bytes, int gpus);

    /**
     * Builds the model an interconnect spec describes: null means the analytic model with the GPU
     * profile's figures. A profiled {@code table} path is relative to {@code baseDirectory} (null: the
     * working directory). Errors are {@link SpecException}s whose key path is relative to the spec.
     */
    static AllReduceModel of(InterconnectSpec spec, GpuProfile gpu, Path baseDirectory) throws IOException {
        return switch (spec) {
            case null -> AnalyticAllReduceModel.forGpu(gpu);
            case InterconnectSpec.Analytic a ->
                AnalyticAllReduceModel.forGpu(gpu).with(a.latencyUs(), a.bandwidthGbPerS());
            case InterconnectSpec.Profiled p -> {
                Path table = baseDirectory == null ? Path.of(p.table()) : baseDirectory.resolve(p.table());
                try {
                    yield ProfiledAllReduceModel.read(table);
                } catch (NoSuchFileException e) {
                    throw new SpecException("table", "'" + table + "' does not exist");
                } catch (TraceFormatException e) {
                    throw new SpecException("table", "cannot be used: " + e.getMessage());
                }
            }
        };
    }
}
