package io.twinserve.engine.model;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;

/**
 * A LoRA adapter in PEFT layout ({@code adapter_config.json} and {@code adapter_model.safetensors}),
 * read into host memory as float32: for each layer and targeted projection, {@code A} ({@code r x in})
 * and {@code B} ({@code out x r}), applied as {@code y += scale * B (A x)} with
 * {@code scale = lora_alpha / r} (or {@code / sqrt(r)} with rsLoRA).
 */
public final class LoraAdapter {
    public static final int MAX_RANK = 256;

    private final String name;
    private final Path dir;
    private final int rank;
    private final double alpha;
    private final float scale;
    private final Set<Projection> targets;
    // [layer][projection ordinal], null where not targeted
    private final float[][][] a;
    private final float[][][] b;
    private final long bytes;

    private LoraAdapter(
            String name,
            Path dir,
            int rank,
            double alpha,
            float scale,
            Set<Projection> targets,
            float[][][] a,
            float[][][] b,
            long bytes) {
        this.name = name;
        this.dir = dir;
        this.rank = rank;
        this.alpha = alpha;
        this.scale = scale;
        this.targets = targets;
        this.a = a;
        this.b = b;
        this.bytes = bytes;
    }

    /** Reads an adapter for {@code base}; every shape must agree with the base model. */
    public static LoraAdapter load(String name, Path dir, ModelConfig base) {
        Path configFile = dir.resolve("adapter_config.json");
        if (!Files.isRegularFile(configFile)) {
            throw new ModelFileException(dir, "not a PEFT adapter directory: adapter_config.json is missing");
        }
        AdapterConfig config = AdapterConfig.read(configFile);
        int rank = config.rank();
        double alpha = config.alpha();
        boolean rs = config.rsLora();
        Set<Projection> targets = EnumSet.noneOf(Projection.class);
        targets.addAll(config.targets());
        Path weights = dir.resolve("adapter_model.safetensors");
        if (!Files.isRegularFile(weights)) {
            throw new ModelFileException(dir, "adapter_model.safetensors is missing");
        }
        int layers = base.numLayers();
        float[][][] a = new float[layers][Projection.values().length][];
        float[][][] b = new float[layers][Projection.values().length][];
        long bytes = 0;
        try (Arena arena = Arena.ofConfined()) {
            SafeTensorsFile st = SafeTensorsFile.open(weights, arena);
            for (int l = 0; l < layers; l++) {
                for (Projection p : targets) {
                    String prefix = "base_model.model." + p.modulePath(l);
                    a[l][p.ordinal()] = read(st, base, prefix, "lora_A", rank, p.inDim(base), p, l);
                    b[l][p.ordinal()] = read(st, base, prefix, "lora_B", p.outDim(base), rank, p, l);
                    bytes += 4L * rank * (p.inDim(base) + p.outDim(base));
                }
            }
            for (String t : st.entries().keySet()) {
                if (t.contains(".layers.")) {
                    int layer = layerOf(t);
                    if (layer >= layers) {
                        throw new ModelFileException(
                                weights,
                                "tensor " + t + " is for layer " + layer + " but the base model has " + layers
                                        + " layers: the adapter is for another base model");
                    }
                }
            }
        }
        float scale = (float) (rs ? alpha / Math.sqrt(rank) : alpha / rank);
        return new LoraAdapter(name, dir, rank, alpha, scale, targets, a, b, bytes);
    }

    /**
     * An adapter known only by name and rank, with no weights: what the simulated backend loads for a
     * profile-only adapter. Backends that compute refuse it.
     */
    public static LoraAdapter weightless(String name, int rank) {
        if (rank < 1 || rank > MAX_RANK) {
            throw new IllegalArgumentException(
                    "adapter '" + name + "': rank must be from 1 to " + MAX_RANK + ", got " + rank);
        }
        return new LoraAdapter(name, null, rank, rank, 1, EnumSet.noneOf(Projection.class), null, null, 0);
    }

    /** Whether this adapter carries weights (false for {@link #weightless}). */
    public boolean hasWeights() {
        return a != null;
    }

    /** Reads only {@code r} from an adapter directory's {@code adapter_config.json} (weights stay on disk). */
    public static int readRank(Path dir) {
        return AdapterConfig.read(dir.resolve("adapter_config.json")).rank();
    }

    private static int layerOf(String tensor) {
        int at = tensor.indexOf(".layers.") + 8;
        int end = tensor.indexOf('.', at);
        try {
            return Integer.parseInt(tensor.substring(at, end));
        } catch (RuntimeException e) {
            return -1;
        }
    }

    private static float[] read(
            SafeTensorsFile st,
            ModelConfig base,
            String prefix,
            String part,
            int rows,
            int cols,
            Projection p,
            int layer) {
        SafeTensorsFile.Entry e = st.entries().get(prefix + "." + part + ".weight");
        if (e == null) {
            e = st.entries().get(prefix + "." + part + ".default.weight");
        }
        if (e == null) {
            throw new ModelFileException(
                    st.path(),
                    "tensor " + prefix + "." + part + ".weight is missing (target " + p.peftName() + " of layer "
                            + layer + ")");
        }
        long[] shape = e.shape();
        if (shape.length != 2 || shape[0] != rows || shape[1] != cols) {
            throw new ModelFileException(
                    st.path(),
                    "tensor " + e.name() + " has shape " + Arrays.toString(shape)
                            + " but r and the base model ("
                            + base.architecture().className() + ", hidden " + base.hiddenSize()
                            + ") imply [" + rows + ", " + cols
                            + "]: the adapter is for another base model or its r is wrong");
        }
        return Tensor.dense(e.name(), e.dtype(), rows, cols, st.bytes(e)).toFloats();
    }

    public String name() {
        return name;
    }

    /** The directory it was read from, or null for a weightless adapter. */
    public Path dir() {
        return dir;
    }

    public int rank() {
        return rank;
    }

    public double alpha() {
        return alpha;
    }

    /** The factor applied to {@code B A x}. */
    public float scale() {
        return scale;
    }

    public Set<Projection> targets() {
        return targets;
    }

    /** {@code A} of a layer's projection, row-major {@code r x in}, or null when not targeted. */
    public float[] a(int layer, Projection p) {
        return a[layer][p.ordinal()];
    }

    /** {@code B} of a layer's projection, row-major {@code out x r}, or null when not targeted. */
    public float[] b(int layer, Projection p) {
        return b[layer][p.ordinal()];
    }

    /** Host memory the float32 weights take. */
    public long bytes() {
        return bytes;
    }
}
