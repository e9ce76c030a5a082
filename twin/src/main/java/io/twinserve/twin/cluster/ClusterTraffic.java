package io.twinserve.twin.cluster;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.ReadOptions;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.format.TraceReaders;
import io.twinserve.traces.gen.Adapter;
import io.twinserve.traces.gen.ThinkTimes;
import io.twinserve.traces.gen.WorkloadGenerator;
import io.twinserve.traces.spec.ClientSpec;
import io.twinserve.traces.spec.SloSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import io.twinserve.traces.spec.WorkloadSpecs;
import io.twinserve.traces.transform.TraceTransforms;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Opens a cluster's traffic: workload specs become generators, trace files streaming readers. */
public final class ClusterTraffic implements Closeable {
    private final List<ClusterSimulator.Traffic> sources;
    private final Long windowNs;
    private final List<String> names;
    private final Map<String, SloSpec> slos;

    private ClusterTraffic(
            List<ClusterSimulator.Traffic> sources, Long windowNs, List<String> names, Map<String, SloSpec> slos) {
        this.sources = sources;
        this.windowNs = windowNs;
        this.names = names;
        this.slos = slos;
    }

    /**
     * The SLO the workload specs sending to a deployment set (a later traffic entry's bounds over an
     * earlier one's), or null when none does.
     */
    public SloSpec slo(String deployment) {
        return slos.get(deployment);
    }

    /** The sources, in the order of the spec's traffic entries. */
    public List<ClusterSimulator.Traffic> sources() {
        return sources;
    }

    /** The longest duration the workload specs state, or null when only traces run (to their end). */
    public Long windowNs() {
        return windowNs;
    }

    /** Each source's workload name. */
    public List<String> names() {
        return names;
    }

    /**
     * Opens every traffic entry of the spec, relative to {@code baseDir}, with every arrival rate further
     * multiplied by {@code rateScale} (the capacity search's knob); {@code seed} overrides the specs' seeds.
     * A workload spec keeps its duration at any scale (it generates rate_scale times the requests).
     */
    public static ClusterTraffic open(ClusterSpec spec, Path baseDir, double rateScale, Long seed) throws IOException {
        List<ClusterSimulator.Traffic> sources = new ArrayList<>();
        List<String> names = new ArrayList<>();
        Map<String, SloSpec> slos = new HashMap<>();
        Long window = null;
        try {
            for (int i = 0; i < spec.traffic().size(); i++) {
                TrafficSpec t = spec.traffic().get(i);
                Path file = baseDir == null ? Path.of(t.workload()) : baseDir.resolve(t.workload());
                double scale = t.rateScale() * rateScale;
                TraceTransforms scaling = scale == 1.0
                        ? TraceTransforms.none()
                        : new TraceTransforms(null, null, null, scale, null, null, null, 0);
                Map<String, Integer> ranks = new HashMap<>();
                TraceReader reader;
                ClientSpec client = null;
                ThinkTimes thinkTimes = null;
                if (isYaml(file)) {
                    if (!Files.isRegularFile(file)) {
                        throw new NoSuchFileException(
                                file.toString(), null, "traffic[" + i + "].workload: no such workload spec");
                    }
                    WorkloadSpec w = WorkloadSpecs.parse(WorkloadSpecs.readText(file), file, WorkloadSpec.class);
                    if (seed != null) {
                        w = w.withSeed(seed);
                    }
                    if (w.durationS() != null) {
                        window = Math.max(window == null ? 0 : window, (long) (w.durationS() * 1e9));
                    }
                    WorkloadSpec longer = new WorkloadSpec(
                            w.name(),
                            w.description(),
                            w.seed(),
                            w.durationS() == null ? null : w.durationS() * scale,
                            w.requests() == null ? null : Math.round(w.requests() * scale),
                            w.arrivals(),
                            w.adapters(),
                            w.lengths(),
                            w.sessions(),
                            w.client(),
                            w.slo());
                    WorkloadGenerator g = new WorkloadGenerator(
                            scale == 1.0 ? w : longer, file.toAbsolutePath().getParent());
                    for (Adapter a : g.adapters()) {
                        ranks.put(a.id(), a.rank());
                    }
                    // the generator is wrapped below, so its client travels beside it
                    client = w.client();
                    thinkTimes = g.thinkTimes();
                    reader = scaling.apply(g);
                    names.add(w.name() != null ? w.name() : file.getFileName().toString());
                    if (w.slo() != null) {
                        slos.merge(
                                spec.deployments().get(spec.deploymentIndex(t)).name(),
                                w.slo(),
                                (earlier, later) -> later.over(earlier));
                    }
                } else {
                    reader = scaling.apply(TraceReaders.open(file, ReadOptions.defaults()));
                    names.add(file.getFileName().toString());
                }
                if (t.startS() > 0) {
                    reader = delayed(reader, (long) (t.startS() * 1e9));
                }
                sources.add(new ClusterSimulator.Traffic(
                        spec.deploymentIndex(t), reader, ranks, t.adapterRank(), client, thinkTimes));
            }
        } catch (IOException | RuntimeException e) {
            for (ClusterSimulator.Traffic s : sources) {
                s.reader().close();
            }
            throw e;
        }
        return new ClusterTraffic(List.copyOf(sources), window, List.copyOf(names), Map.copyOf(slos));
    }

    /** The same requests, each arriving {@code delayNs} later. */
    private static TraceReader delayed(TraceReader source, long delayNs) {
        return new TraceReader() {
            @Override
            public Request next() throws IOException {
                Request r = source.next();
                return r == null
                        ? null
                        : new Request(
                                r.id(),
                                r.arrivalNs() + delayNs,
                                r.sessionId(),
                                r.turnIndex(),
                                r.adapterId(),
                                r.promptTokens(),
                                r.outputTokens(),
                                r.prefixBlockSize(),
                                r.prefixHashes());
            }

            @Override
            public void close() throws IOException {
                source.close();
            }
        };
    }

    /** Whether a workload path names a spec (.yaml/.yml) rather than a trace. */
    public static boolean isYaml(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".yaml") || n.endsWith(".yml");
    }

    @Override
    public void close() throws IOException {
        for (ClusterSimulator.Traffic s : sources) {
            s.reader().close();
        }
    }
}
