package io.twinserve.twin.calibrate;

/**
 * One measured figure and the twin's reproduction of it.
 *
 * @param family the measurement family (a file, or a set of runs within one)
 * @param row the input row's key fields, e.g. {@code max_loras=32 max_lora_rank=16}
 * @param errorPct (predicted - measured) / measured in percent; for a configuration that does not start,
 *     0 when the twin agrees and 100 when it does not
 */
public record FitRow(
        String family,
        String file,
        String model,
        String row,
        String quantity,
        double measured,
        double predicted,
        double errorPct) {

    /** (predicted - measured) / measured in percent. */
    static double pct(double predicted, double measured) {
        return (predicted - measured) / measured * 100;
    }

    /** Rounded to three decimals, as the fit's rows are written. */
    static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
