package io.twinserve.placement;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** A tree's decision path as the rules {@code twinserve plan} prints. */
final class TreeWords {
    private TreeWords() {}

    /** A tree path in plain words: each feature's interval on the path, in the order first split on. */
    static List<String> words(List<CompiledTree.Step> path, String outcome) {
        Map<String, double[]> bounds = new LinkedHashMap<>();
        Map<String, Double> values = new LinkedHashMap<>();
        for (CompiledTree.Step s : path) {
            double[] b = bounds.computeIfAbsent(
                    s.feature(), k -> new double[] {Double.NEGATIVE_INFINITY, Double.POSITIVE_INFINITY});
            if (s.above()) {
                b[0] = Math.max(b[0], s.threshold());
            } else {
                b[1] = Math.min(b[1], s.threshold());
            }
            values.put(s.feature(), s.value());
        }
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, double[]> e : bounds.entrySet()) {
            String f = e.getKey();
            double[] b = e.getValue();
            double v = values.get(f);
            if (f.contains("=")) {
                out.add((v > 0.5 ? "" : "not: ") + Features.describe(f));
                continue;
            }
            String range = b[0] == Double.NEGATIVE_INFINITY
                    ? "<= " + Features.num(b[1])
                    : b[1] == Double.POSITIVE_INFINITY
                            ? "> " + Features.num(b[0])
                            : "in (" + Features.num(b[0]) + ", " + Features.num(b[1]) + "]";
            out.add(Features.describe(f) + " is " + Features.num(v) + ", " + range);
        }
        out.add("=> " + outcome);
        return out;
    }
}
