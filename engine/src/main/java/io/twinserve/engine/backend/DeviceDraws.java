package io.twinserve.engine.backend;

import java.util.Arrays;

/**
 * The rows of a step a backend that samples on its device draws there (see {@link Backend#drawsOnDevice()}):
 * per logit row, whether it is drawn on the device and, if so, how (temperature, 0 for greedy; min-p, 0 for none;
 * top-k, 0 for none; top-p, 1 for none) and the uniform draw in [0, 1) the request's own seeded stream gave it. A
 * row drawn on the device is one its host sampler would draw the same way (no penalties, bias or
 * log-probabilities). Reused from step to step.
 */
public final class DeviceDraws {
    private int rows;
    private boolean[] onDevice = new boolean[8];
    private float[] temperature = new float[8];
    private float[] minP = new float[8];
    private double[] uniform = new double[8];
    private int[] topK = new int[8];
    private float[] topP = new float[8];
    private int count;

    /** Empties it for a step of {@code rows} logit rows, none drawn on the device yet. */
    public void clear(int rows) {
        if (onDevice.length < rows) {
            int n = Math.max(rows, 2 * onDevice.length);
            onDevice = new boolean[n];
            temperature = Arrays.copyOf(temperature, n);
            minP = Arrays.copyOf(minP, n);
            uniform = Arrays.copyOf(uniform, n);
            topK = Arrays.copyOf(topK, n);
            topP = Arrays.copyOf(topP, n);
        } else {
            Arrays.fill(onDevice, 0, rows, false);
        }
        this.rows = rows;
        this.count = 0;
    }

    /**
     * Draws logit row {@code row} on the device at {@code temperature} (0: the argmax, lowest id on ties) with
     * {@code minP} (0: none) and the request's uniform draw {@code u} in [0, 1).
     */
    public void set(int row, double temperature, double minP, double u) {
        set(row, temperature, minP, 0, 1, u);
    }

    /** As {@link #set(int, double, double, double)}, within the top {@code topK} tokens (0: all) and top-p {@code topP}. */
    public void set(int row, double temperature, double minP, int topK, double topP, double u) {
        if (row < 0 || row >= rows) {
            throw new IllegalArgumentException("logit row " + row + " is outside the step's " + rows);
        }
        if (!(u >= 0 && u < 1)) {
            throw new IllegalArgumentException("a uniform draw must be in [0, 1), got " + u);
        }
        if (!onDevice[row]) {
            count++;
        }
        onDevice[row] = true;
        this.temperature[row] = (float) temperature;
        this.minP[row] = (float) minP;
        this.uniform[row] = u;
        this.topK[row] = topK;
        this.topP[row] = (float) topP;
    }

    public int rows() {
        return rows;
    }

    /** Rows drawn on the device. */
    public int count() {
        return count;
    }

    public boolean onDevice(int row) {
        return row < rows && onDevice[row];
    }

    public float temperature(int row) {
        return temperature[row];
    }

    public float minP(int row) {
        return minP[row];
    }

    public double uniform(int row) {
        return uniform[row];
    }

    public int topK(int row) {
        return topK[row];
    }

    public float topP(int row) {
        return topP[row];
    }
}
