package io.twinserve.experiments.bench;

import java.io.IOException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Another build of twinserve (its application jar) loaded beside this one, so that {@code bench twin} times
 * the same scenarios on both in one JVM: its {@link TwinBenchmark} runs in a class loader of its own, through
 * the {@code measure(int, double[], double)} that every build since the benchmark existed has.
 */
public final class BuildComparison {
    private final Object bench;
    private final Method measure;
    private final Method simulateMs;

    private BuildComparison(Object bench, Method measure, Method simulateMs) {
        this.bench = bench;
        this.measure = measure;
        this.simulateMs = simulateMs;
    }

    /** Loads the build in {@code jar}; a file that is not a twinserve jar of a known shape is refused by name. */
    public static BuildComparison load(Path jar) throws IOException {
        if (!Files.isRegularFile(jar)) {
            throw new IllegalArgumentException(
                    "--before " + jar + ": no such file (expected a twinserve application jar)");
        }
        URLClassLoader loader =
                new URLClassLoader("before", new URL[] {jar.toUri().toURL()}, ClassLoader.getPlatformClassLoader());
        try {
            Class<?> c = Class.forName(TwinBenchmark.class.getName(), true, loader);
            Class<?> timing = Class.forName(TwinBenchmark.Timing.class.getName(), true, loader);
            return new BuildComparison(
                    c.getConstructor().newInstance(),
                    c.getMethod("measure", int.class, double[].class, double.class),
                    timing.getMethod("simulateMs"));
        } catch (ReflectiveOperationException | LinkageError e) {
            throw new IllegalArgumentException(
                    "--before " + jar + ": not a twinserve application jar with " + TwinBenchmark.class.getName()
                            + ".measure(int, double[], double) (" + e + ")",
                    e);
        }
    }

    /** The other build's simulation time of one scenario, in ms. */
    public double simulateMs(int served, double[] rates, double durationS) throws IOException {
        try {
            return (double) simulateMs.invoke(measure.invoke(bench, served, rates, durationS));
        } catch (InvocationTargetException e) {
            throw new IOException(
                    "the --before build failed on " + served + " adapters: " + e.getCause(), e.getCause());
        } catch (IllegalAccessException e) {
            throw new IllegalStateException(e);
        }
    }
}
