package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The FFM {@code cuLaunchKernel} against a recording stand-in built with gcc: every argument lands where the
 * driver API expects it, the parameter block points at the values set, and an error code is named.
 */
class FfmLauncherTest {

    @Test
    void argumentsAndTheParameterBlockReachTheDriverAsSet(@TempDir Path dir) throws Throwable {
        Path stub = compile(dir, "launch_stub");
        try (Arena arena = Arena.ofConfined()) {
            SymbolLookup lookup = SymbolLookup.libraryLookup(stub, arena);
            MethodHandle recorded = Linker.nativeLinker()
                    .downcallHandle(
                            lookup.find("stub_recorded").orElseThrow(),
                            FunctionDescriptor.of(ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
            FfmLauncher launcher = new FfmLauncher(lookup);
            FfmLauncher.Params p = new FfmLauncher.Params(arena, 4)
                    .pointer(0, 0xDEADBEEF00L)
                    .i32(1, 7)
                    .f32(2, 1.5f)
                    .i64(3, 1L << 40);
            launcher.launch(0x1234, 2, 3, 4, 32, 1, 1, 128, 0x77, p);
            long[] got = new long[14];
            for (int i = 0; i < got.length; i++) {
                got[i] = (long) recorded.invokeExact(i);
            }
            assertThat(got)
                    .containsExactly(
                            0x1234,
                            2,
                            3,
                            4,
                            32,
                            1,
                            1,
                            128,
                            0x77,
                            0xDEADBEEF00L,
                            7,
                            Float.floatToIntBits(1.5f),
                            1L << 40,
                            1);
            // the block is reused: a slot set again is what the next launch reads
            p.i32(1, 9);
            launcher.launch(0x1234, 1, 1, 1, 1, 1, 1, 0, 0, p);
            assertThat((long) recorded.invokeExact(10)).isEqualTo(9);
            assertThatThrownBy(() -> launcher.launch(0x1234, 999, 1, 1, 1, 1, 1, 0, 0, p))
                    .isInstanceOf(CudaUnavailableException.class)
                    .hasMessage("CUDA: cuLaunchKernel failed: CUDA_ERROR_INVALID_VALUE (1)");
        }
    }

    /** Builds the C stand-in {@code name}.c from the test resources into a shared library, or skips without gcc. */
    static Path compile(Path dir, String name) throws IOException, InterruptedException {
        Path source = dir.resolve(name + ".c");
        try (InputStream in = FfmLauncherTest.class.getResourceAsStream(name + ".c")) {
            Files.copy(in, source);
        }
        Path lib = dir.resolve("lib" + name + ".so");
        Process gcc;
        try {
            gcc = new ProcessBuilder("gcc", "-shared", "-fPIC", "-O1", "-o", lib.toString(), source.toString())
                    .redirectErrorStream(true)
                    .start();
        } catch (IOException e) {
            Assumptions.abort("gcc is not installed here: the FFM bindings were not checked against a stand-in");
            throw e;
        }
        String log = new String(gcc.getInputStream().readAllBytes());
        assertThat(gcc.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(gcc.exitValue()).as(log).isZero();
        return lib;
    }
}
