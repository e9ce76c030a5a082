package io.twinserve.twin.perf;

import io.twinserve.traces.format.TraceFormatException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Measured per-layer operator timings in Vidur's {@code mlp.csv} format (Agrawal et al., "Vidur",
 * MLSys 2024): for each token count and tensor-parallel degree, the median milliseconds of one layer's
 * norms, QKV and output projections, rotary embedding, MLP projections, activation and residual adds
 * (attention itself is not in these tables), and the embedding once per forward pass.
 *
 * <p>Looked up by piecewise-linear interpolation in the token count. Beyond the grid the time grows in
 * proportion to the tokens from the last point (large batches are compute-bound; extrapolating the last
 * two points' slope would amplify their measurement noise); below it, the first point holds. Duplicate
 * rows of a token count are averaged.
 */
public final class VidurMlpTable {
    private static final String[] LAYER_OPS = {
        "input_layernorm",
        "attn_pre_proj",
        "attn_rope",
        "attn_post_proj",
        "post_attention_layernorm",
        "mlp_up_proj",
        "mlp_act",
        "mlp_down_proj",
        "add"
    };

    private final Path file;
    private final int hiddenSize;
    private final int intermediateSize;
    private final int[] tokens;
    private final double[] layerMs;
    private final double[] embeddingMs;

    private VidurMlpTable(
            Path file, int hiddenSize, int intermediateSize, int[] tokens, double[] layerMs, double[] embeddingMs) {
        this.file = file;
        this.hiddenSize = hiddenSize;
        this.intermediateSize = intermediateSize;
        this.tokens = tokens;
        this.layerMs = layerMs;
        this.embeddingMs = embeddingMs;
    }

    /** Reads the rows of one tensor-parallel degree. */
    public static VidurMlpTable read(Path file, int tp) throws IOException {
        List<String> lines = Files.readAllLines(file);
        if (lines.isEmpty()) {
            throw new TraceFormatException(file, 0, 0, "the profile table is empty");
        }
        List<String> header = Arrays.asList(lines.get(0).split(",", -1));
        int tokensCol = require(header, "num_tokens", file);
        int tpCol = require(header, "num_tensor_parallel_workers", file);
        int hiddenCol = require(header, "n_embd", file);
        int interCol = require(header, "n_expanded_embd", file);
        int embCol = require(header, "time_stats.emb.median", file);
        List<Integer> opCols = new ArrayList<>();
        for (String op : LAYER_OPS) {
            int c = header.indexOf("time_stats." + op + ".median");
            if (c >= 0) {
                opCols.add(c);
            }
        }
        if (opCols.size() < 5) {
            throw new TraceFormatException(
                    file,
                    1,
                    0,
                    "expected Vidur's per-operator columns time_stats.<op>.median;" + " found " + opCols.size() + " of "
                            + String.join(", ", LAYER_OPS));
        }
        Map<Integer, double[]> byTokens = new TreeMap<>();
        int hidden = -1;
        int inter = -1;
        for (int i = 1; i < lines.size(); i++) {
            if (lines.get(i).isBlank()) {
                continue;
            }
            String[] f = lines.get(i).split(",", -1);
            if (f.length != header.size()) {
                throw new TraceFormatException(
                        file, i + 1, 0, "expected " + header.size() + " fields, got " + f.length);
            }
            if ((int) number(f[tpCol], "num_tensor_parallel_workers", file, i) != tp) {
                continue;
            }
            hidden = (int) number(f[hiddenCol], "n_embd", file, i);
            inter = (int) number(f[interCol], "n_expanded_embd", file, i);
            int t = (int) number(f[tokensCol], "num_tokens", file, i);
            double layer = 0;
            for (int c : opCols) {
                layer += number(f[c], header.get(c), file, i);
            }
            double[] acc = byTokens.computeIfAbsent(t, k -> new double[3]);
            acc[0] += layer;
            acc[1] += number(f[embCol], "time_stats.emb.median", file, i);
            acc[2] += 1;
        }
        if (byTokens.size() < 2) {
            throw new TraceFormatException(
                    file,
                    0,
                    0,
                    "fewer than two rows for tensor parallelism " + tp + "; the table cannot be interpolated");
        }
        int n = byTokens.size();
        int[] tokens = new int[n];
        double[] layer = new double[n];
        double[] emb = new double[n];
        int k = 0;
        for (Map.Entry<Integer, double[]> e : byTokens.entrySet()) {
            tokens[k] = e.getKey();
            layer[k] = e.getValue()[0] / e.getValue()[2];
            emb[k] = e.getValue()[1] / e.getValue()[2];
            k++;
        }
        return new VidurMlpTable(file, hidden, inter, tokens, layer, emb);
    }

    private static int require(List<String> header, String name, Path file) {
        int c = header.indexOf(name);
        if (c < 0) {
            throw new TraceFormatException(file, 1, 0, "not a Vidur mlp.csv: no column '" + name + "'");
        }
        return c;
    }

    private static double number(String text, String column, Path file, int index) {
        try {
            return Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new TraceFormatException(file, index + 1, 0, column + ": expected a number, got '" + text + "'");
        }
    }

    public int hiddenSize() {
        return hiddenSize;
    }

    public int intermediateSize() {
        return intermediateSize;
    }

    public Path file() {
        return file;
    }

    /** One layer's non-attention time for a batch of {@code n} tokens, in ms. */
    public double layerMs(int n) {
        return interpolate(layerMs, n);
    }

    /** The embedding lookup for {@code n} tokens, in ms. */
    public double embeddingMs(int n) {
        return interpolate(embeddingMs, n);
    }

    private double interpolate(double[] values, int n) {
        int i = Arrays.binarySearch(tokens, n);
        if (i >= 0) {
            return values[i];
        }
        int hi = -i - 1;
        if (hi == 0) {
            return values[0];
        }
        if (hi == tokens.length) {
            return values[tokens.length - 1] * n / tokens[tokens.length - 1];
        }
        int lo = hi - 1;
        double slope = (values[hi] - values[lo]) / (tokens[hi] - tokens[lo]);
        return Math.max(0, values[lo] + slope * (n - tokens[lo]));
    }
}
