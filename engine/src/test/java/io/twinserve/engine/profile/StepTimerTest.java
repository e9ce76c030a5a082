package io.twinserve.engine.profile;

import static org.assertj.core.api.Assertions.assertThat;

import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.backend.ForwardingBackend;
import io.twinserve.engine.backend.cpu.CpuBackend;
import io.twinserve.engine.model.Architecture;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.ModelFiles;
import io.twinserve.engine.model.write.RandomModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The profile's step timer makes its draws as the live loop does: on the device where the backend draws there. */
class StepTimerTest {

    /**
     * A backend that draws on its "device": the CPU backend's step, every asked row's token noted (the draw itself
     * is not what is timed here, only where it happens).
     */
    private static final class DrawingBackend extends ForwardingBackend {
        final List<Integer> drawnPerStep = new ArrayList<>();
        final List<Double> uniforms = new ArrayList<>();
        int hostSteps;

        DrawingBackend(CpuBackend cpu) {
            super(cpu);
        }

        @Override
        public boolean drawsOnDevice() {
            return true;
        }

        @Override
        public void forward(ForwardBatch batch, DeviceDraws draws, int[] tokens, float[] logits) {
            inner.forward(batch, logits);
            drawnPerStep.add(draws.count());
            for (int r = 0; r < draws.rows(); r++) {
                assertThat(draws.onDevice(r)).isTrue();
                assertThat(draws.temperature(r)).isEqualTo(1f);
                uniforms.add(draws.uniform(r));
                tokens[r] = 0;
            }
        }

        @Override
        public void forward(ForwardBatch batch, float[] logits) {
            hostSteps++;
            inner.forward(batch, logits);
        }
    }

    @Test
    void decodeStepsDrawEveryRowOnTheDeviceWithEachSamplersOwnUniform(@TempDir Path dir) throws Exception {
        Path model = dir.resolve("m");
        RandomModel.write(
                new RandomModel.Spec(
                        RandomModel.config(
                                Architecture.LLAMA, 2, 64, 96, 4, 2, 16, 300, DType.BF16, false, 1, List.of(2)),
                        3,
                        1),
                model);
        try (ModelFiles files = ModelFiles.open(model);
                DrawingBackend backend =
                        new DrawingBackend(new CpuBackend(files, new CpuBackend.Options(1, 1, 256, 4, 2)))) {
            StepTimer timer = new StepTimer(backend, 8);
            long[] ns = timer.time(3, 1, 8, 0, true, 1, 4);
            assertThat(ns).hasSize(4);
            // five steps (a warm-up and four timed), three rows each, all drawn on the device, none on the host
            assertThat(backend.drawnPerStep).containsExactly(3, 3, 3, 3, 3);
            assertThat(backend.hostSteps).isZero();
            // each row's uniform comes from its own sampler's stream: five different draws per row
            assertThat(backend.uniforms).hasSize(15).doesNotHaveDuplicates();
            // a prefill without logits draws nothing, on the host's path
            timer.time(2, 4, 0, 0, false, 0, 1);
            assertThat(backend.hostSteps).isEqualTo(1);
        }
    }
}
