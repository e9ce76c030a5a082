package io.twinserve.traces.gen;

import io.twinserve.traces.Request;
import io.twinserve.traces.format.TraceReader;
import io.twinserve.traces.spec.AdaptersSpec;
import io.twinserve.traces.spec.ArrivalsSpec;
import io.twinserve.traces.spec.WorkloadSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.sampling.distribution.AliasMethodDiscreteSampler;
import org.apache.commons.rng.sampling.distribution.DiscreteSampler;

/**
 * Generates the requests of a {@link WorkloadSpec} in arrival order, lazily, as a {@link TraceReader}.
 *
 * <p>The same spec and seed give the same requests. Each concern draws from its own stream split from
 * the seed (arrivals, adapter choice, lengths, sessions, ranks), so changing, say, the length
 * distribution does not move the arrival times.
 *
 * <p>Per-adapter rates ({@code rate_tiers}) are generated as one Poisson stream at the summed rate whose
 * arrivals pick their adapter with probability proportional to its rate: by the superposition theorem
 * this is the same process as independent per-adapter Poisson streams, at one draw per request.
 */
public final class WorkloadGenerator implements TraceReader {
    private final WorkloadSpec spec;
    private final ArrivalProcess arrivals;
    private final LengthDraw lengths;
    private final SessionTurns sessions;
    private final AdapterPicker adapterPicker;
    private final List<Adapter> adapters;
    private final long durationNs;
    private final long requestLimit;
    private final ThinkTimes thinkTimes;
    private long emitted;

    public WorkloadGenerator(WorkloadSpec spec, Path baseDir) {
        this.spec = spec;
        SplittableRandom root = new SplittableRandom(spec.seed());
        SplittableRandom arrivalRng = root.split();
        SplittableRandom adapterRng = root.split();
        SplittableRandom lengthRng = root.split();
        SplittableRandom sessionRng = root.split();
        SplittableRandom rankRng = root.split();
        // split after the others, so that a client block moves none of the requests
        SplittableRandom thinkRng = root.split();

        AdaptersSpec a = spec.adapters();
        double[] weights = AdapterPicker.weights(spec);
        double weightSum = 0;
        for (double w : weights) {
            weightSum += w;
        }
        int[] ranks = assignRanks(a, rankRng);
        this.adapterPicker = new AdapterPicker(a, weights, adapterRng);
        List<Adapter> list = new ArrayList<>(a.count());
        boolean tiers = spec.arrivals() instanceof ArrivalsSpec.Poisson p && p.rateTiers() != null;
        for (int i = 0; i < a.count(); i++) {
            double share = (1 - a.baseShare()) * weights[i] / weightSum;
            list.add(new Adapter(adapterPicker.id(i), ranks[i], share, tiers ? weights[i] : Double.NaN));
        }
        this.adapters = Collections.unmodifiableList(list);

        double totalRate = tiers ? weightSum : rateOf(spec.arrivals());
        Samplers samplers = new Samplers(baseDir);
        this.arrivals = ArrivalProcess.of(spec.arrivals(), totalRate, arrivalRng, baseDir);
        this.lengths = new LengthDraw(spec.lengths(), samplers, lengthRng);
        this.sessions = spec.sessions() == null
                ? null
                : new SessionTurns(spec.sessions(), spec.lengths(), lengths, samplers, sessionRng, adapterPicker::pick);
        this.durationNs = spec.durationS() == null ? Long.MAX_VALUE : (long) (spec.durationS() * 1e9);
        this.requestLimit = spec.requests() == null ? Long.MAX_VALUE : spec.requests();
        this.thinkTimes = spec.client() == null || !spec.client().closedLoop()
                ? null
                : new ThinkTimes(spec.client().thinkTimeS(), thinkRng, baseDir);
    }

    /**
     * What a user should know before trusting this workload's lengths (the caps change them: {@link
     * LengthDraw#capWarning}); empty when nothing. Estimated from draws of a stream of its own: the requests do not
     * move.
     */
    public static List<String> warnings(WorkloadSpec spec, Path baseDir) {
        String caps = LengthDraw.capWarning(spec.lengths(), new Samplers(baseDir), spec.seed());
        if (caps != null && spec.sessions() != null) {
            // (SessionTurns: a first turn draws as any request; later messages and answers are clipped)
            caps += "; in sessions this is each first turn: later messages and answers are clipped to the caps, and a"
                    + " session ends when its context outgrows them";
        }
        return caps == null ? List.of() : List.of(caps);
    }

    /** The think times of the spec's closed-loop client, drawn from the seed; null without one. */
    public ThinkTimes thinkTimes() {
        return thinkTimes;
    }

    /** The adapters of this workload with their ranks and expected shares, in id order. */
    public List<Adapter> adapters() {
        return adapters;
    }

    public WorkloadSpec spec() {
        return spec;
    }

    @Override
    public Request next() {
        if (emitted >= requestLimit) {
            return null;
        }
        if (sessions != null) {
            Request r = sessions.next(arrivals, durationNs, emitted);
            if (r != null) {
                emitted++;
            }
            return r;
        }
        long t = arrivals.next();
        if (t >= durationNs) {
            return null;
        }
        String adapter = adapterPicker.pick();
        lengths.draw();
        return new Request(
                emitted++, t, null, Request.NO_TURN, adapter, lengths.promptTokens, lengths.outputTokens, 0, null);
    }

    private static double rateOf(ArrivalsSpec a) {
        return switch (a) {
            case ArrivalsSpec.Poisson p -> p.rate();
            case ArrivalsSpec.Gamma g -> g.rate();
            case ArrivalsSpec.Constant c -> c.rate();
            case ArrivalsSpec.Trace t -> Double.NaN;
        };
    }

    private static int[] assignRanks(AdaptersSpec a, SplittableRandom rng) {
        int[] ranks = new int[a.count()];
        if (a.rankWeights() == null) {
            for (int i = 0; i < ranks.length; i++) {
                ranks[i] = a.ranks().get(i % a.ranks().size());
            }
            return ranks;
        }
        int[] values = new int[a.rankWeights().size()];
        double[] p = new double[values.length];
        double sum = 0;
        int k = 0;
        for (var e : a.rankWeights().entrySet()) {
            values[k] = e.getKey();
            p[k] = e.getValue();
            sum += p[k];
            k++;
        }
        for (int i = 0; i < p.length; i++) {
            p[i] /= sum;
        }
        UniformRandomProvider urp = rng::nextLong;
        DiscreteSampler s = AliasMethodDiscreteSampler.of(urp, p);
        for (int i = 0; i < ranks.length; i++) {
            ranks[i] = values[s.sample()];
        }
        return ranks;
    }

    @Override
    public void close() throws IOException {
        arrivals.close();
    }
}
