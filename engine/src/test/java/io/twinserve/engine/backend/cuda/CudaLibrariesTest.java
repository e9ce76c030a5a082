package io.twinserve.engine.backend.cuda;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The search for CUDA 13's libraries: its order, PyTorch's wheel folders, and the error that lists it. */
class CudaLibrariesTest {

    @Test
    void theOwnVariableComesFirstThenPytorchsWheelThenCuda(@TempDir Path dir) throws Exception {
        Path own = Files.createDirectories(dir.resolve("own"));
        Path wheel = Files.createDirectories(dir.resolve("python-root/python3.12/dist-packages/nvidia/cu13/lib"));
        Files.writeString(wheel.resolve("libcublas.so.13"), "");
        Files.writeString(wheel.resolve("libcublasLt.so.13"), "");
        CudaLibraries libs = new CudaLibraries(
                Map.of(
                        "TWINSERVE_CUDA_LIBS",
                        own.toString(),
                        "HOME",
                        dir.resolve("home").toString()),
                List.of(dir.resolve("python-root")));
        List<Path> folders = libs.folders();
        assertThat(folders.get(0)).isEqualTo(own);
        assertThat(folders.get(1)).isEqualTo(wheel);
        assertThat(folders.indexOf(Path.of("/usr/local/cuda/lib64"))).isGreaterThan(1);
        assertThat(libs.find("libcublas.so.13"))
                .isEqualTo(wheel.resolve("libcublas.so.13").toAbsolutePath());
        // the own folder wins when it holds the library too
        Files.writeString(own.resolve("libcublas.so.13"), "");
        assertThat(libs.find("libcublas.so.13"))
                .isEqualTo(own.resolve("libcublas.so.13").toAbsolutePath());
    }

    @Test
    void aLibraryFoundNowhereNamesEveryFolderSearched(@TempDir Path dir) {
        CudaLibraries libs = new CudaLibraries(Map.of("TWINSERVE_CUDA_LIBS", dir.toString()), List.of());
        assertThatThrownBy(() -> libs.find("libcublas.so.99"))
                .isInstanceOf(CudaUnavailableException.class)
                .hasMessageStartingWith("CUDA unavailable: libcublas.so.99 not found; searched [" + dir)
                .hasMessageContaining("/usr/local/cuda/lib64")
                .hasMessageEndingWith("(set TWINSERVE_CUDA_LIBS to the folder that holds it)");
    }
}
