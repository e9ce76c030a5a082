package io.twinserve.traces.gen;

import io.twinserve.traces.Request;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Test helper: generates a spec given as YAML text into a list. */
final class Generated {
    private Generated() {}

    static WorkloadSpec spec(String yaml) {
        return WorkloadSpecs.parse(yaml, Path.of("test.yaml"));
    }

    static List<Request> all(String yaml) {
        return all(spec(yaml), null);
    }

    static List<Request> all(WorkloadSpec spec, Path baseDir) {
        List<Request> out = new ArrayList<>();
        try (WorkloadGenerator g = new WorkloadGenerator(spec, baseDir)) {
            Request r;
            while ((r = g.next()) != null) {
                out.add(r);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out;
    }

    /** Sample coefficient of variation of the gaps between consecutive arrivals. */
    static double gapCv(List<Request> rs) {
        double sum = 0;
        double sumSq = 0;
        int n = rs.size() - 1;
        for (int i = 1; i < rs.size(); i++) {
            double g = (rs.get(i).arrivalNs() - rs.get(i - 1).arrivalNs()) / 1e9;
            sum += g;
            sumSq += g * g;
        }
        double mean = sum / n;
        double var = (sumSq - n * mean * mean) / (n - 1);
        return Math.sqrt(var) / mean;
    }
}
