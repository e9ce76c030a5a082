package io.twinserve.engine.backend.cuda;

import java.io.File;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Where the CUDA 13 libraries the backend calls through the FFM API ({@code libcublas.so.13}, {@code
 * libcublasLt.so.13}) are: JCuda's own cuBLAS binding needs CUDA 12's, which the GPU machines do not have (see
 * {@code ../shared/CUDA.md}). Searched in order: the folders of {@code TWINSERVE_CUDA_LIBS}, the {@code
 * nvidia/cu13/lib} folder of PyTorch's CUDA wheels in every Python site folder, {@code
 * /usr/local/cuda/lib64}, then the loader's own path ({@code LD_LIBRARY_PATH} and the system folders). A
 * library found nowhere is an error that names every folder searched.
 */
public final class CudaLibraries {
    /** Folders where Python keeps its packages on the Linux images twinserve runs on. */
    private static final List<String> PYTHON_ROOTS = List.of("/usr/lib", "/usr/local/lib", "/opt/conda/lib");

    private final Map<String, String> env;
    private final List<Path> extraPythonRoots;

    /** @param env the environment (the process's own in production) */
    public CudaLibraries(Map<String, String> env) {
        this(env, List.of());
    }

    CudaLibraries(Map<String, String> env, List<Path> extraPythonRoots) {
        this.env = env;
        this.extraPythonRoots = extraPythonRoots;
    }

    public static CudaLibraries system() {
        return new CudaLibraries(System.getenv());
    }

    /** The folders searched for a library, in order. */
    public List<Path> folders() {
        List<Path> out = new ArrayList<>();
        String own = env.get("TWINSERVE_CUDA_LIBS");
        if (own != null) {
            for (String d : own.split(File.pathSeparator)) {
                if (!d.isBlank()) {
                    out.add(Path.of(d));
                }
            }
        }
        List<Path> roots = new ArrayList<>(extraPythonRoots);
        for (String r : PYTHON_ROOTS) {
            roots.add(Path.of(r));
        }
        String home = env.get("HOME");
        if (home != null) {
            roots.add(Path.of(home, ".local", "lib"));
        }
        for (Path root : roots) {
            for (Path python : children(root, "python3*")) {
                for (String packages : List.of("site-packages", "dist-packages")) {
                    Path lib = python.resolve(packages)
                            .resolve("nvidia")
                            .resolve("cu13")
                            .resolve("lib");
                    if (Files.isDirectory(lib)) {
                        out.add(lib);
                    }
                }
            }
        }
        out.add(Path.of("/usr/local/cuda/lib64"));
        String ld = env.get("LD_LIBRARY_PATH");
        if (ld != null) {
            for (String d : ld.split(File.pathSeparator)) {
                if (!d.isBlank()) {
                    out.add(Path.of(d));
                }
            }
        }
        for (String d : List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib64", "/usr/lib")) {
            out.add(Path.of(d));
        }
        return out;
    }

    /** The absolute path of library {@code name} (e.g. {@code libcublas.so.13}), from the first folder holding it. */
    public Path find(String name) {
        List<Path> folders = folders();
        for (Path d : folders) {
            Path f = d.resolve(name);
            if (Files.isRegularFile(f)) {
                return f.toAbsolutePath();
            }
        }
        throw new CudaUnavailableException("CUDA unavailable: " + name + " not found; searched " + folders
                + " (set TWINSERVE_CUDA_LIBS to the folder that holds it)");
    }

    private static List<Path> children(Path dir, String glob) {
        List<Path> out = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return out;
        }
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, glob)) {
            for (Path p : s) {
                out.add(p);
            }
        } catch (IOException e) {
            // an unreadable folder holds nothing we can load
        }
        out.sort(null);
        return out;
    }
}
