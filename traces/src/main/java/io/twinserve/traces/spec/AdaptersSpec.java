package io.twinserve.traces.spec;

import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The LoRA adapters a workload uses: how many, their ranks (a list assigned round-robin, or weights
 * drawn per adapter), their popularity, and the share of requests that go to the base model.
 *
 * @param count number of adapters (0 = base model only)
 * @param ranks ranks assigned round-robin in adapter order
 * @param rankWeights rank to weight, drawn once per adapter (instead of {@code ranks})
 * @param popularity how a total rate is split among adapters (default uniform)
 * @param baseShare fraction of requests for the base model, 0..1 (default 0; 1 when count is 0)
 * @param idPrefix adapter ids are this prefix and a zero-padded index (default "adapter-")
 */
public record AdaptersSpec(
        Integer count,
        List<Integer> ranks,
        Map<Integer, Double> rankWeights,
        PopularitySpec popularity,
        Double baseShare,
        String idPrefix) {

    public static final List<Integer> DEFAULT_RANKS = List.of(16);

    public AdaptersSpec {
        Check.atLeast("count", count, 0);
        if (ranks != null && rankWeights != null) {
            throw new SpecException("rank_weights", "cannot be given together with ranks; choose one");
        }
        if (ranks != null) {
            if (ranks.isEmpty()) {
                throw new SpecException("ranks", "must list at least one rank");
            }
            for (int i = 0; i < ranks.size(); i++) {
                Check.atLeast("ranks[" + i + "]", ranks.get(i), 1);
            }
            ranks = List.copyOf(ranks);
        }
        if (rankWeights != null) {
            if (rankWeights.isEmpty()) {
                throw new SpecException("rank_weights", "must map at least one rank to a weight");
            }
            double sum = 0;
            for (Map.Entry<Integer, Double> e : rankWeights.entrySet()) {
                Check.atLeast("rank_weights", e.getKey(), 1);
                sum += Check.nonNegative("rank_weights." + e.getKey(), e.getValue());
            }
            if (!(sum > 0)) {
                throw new SpecException("rank_weights", "must have a positive sum");
            }
            rankWeights = Collections.unmodifiableMap(new TreeMap<>(rankWeights));
        }
        if (ranks == null && rankWeights == null) {
            ranks = DEFAULT_RANKS;
        }
        if (popularity == null) {
            popularity = new PopularitySpec.Uniform();
        }
        if (baseShare == null) {
            baseShare = count == 0 ? 1.0 : 0.0;
        }
        Check.nonNegative("base_share", baseShare);
        if (baseShare > 1) {
            throw new SpecException("base_share", "must be <= 1, got " + Check.fmt(baseShare));
        }
        if (count == 0 && baseShare < 1) {
            throw new SpecException(
                    "base_share",
                    "must be 1 when count is 0 (there is no adapter to use), got " + Check.fmt(baseShare));
        }
        if (count > 0 && baseShare == 1.0) {
            throw new SpecException(
                    "base_share",
                    "is 1, so none of the " + count + " adapters would be used;"
                            + " set count to 0 or base_share below 1");
        }
        if (idPrefix == null) {
            idPrefix = "adapter-";
        }
        if (popularity instanceof PopularitySpec.Weights w && w.weights().size() != count) {
            throw new SpecException(
                    "popularity.weights",
                    "must list one weight per adapter (" + count + "), got "
                            + w.weights().size());
        }
    }

    /** No adapters: every request goes to the base model. */
    public static AdaptersSpec none() {
        return new AdaptersSpec(0, null, null, null, null, null);
    }

    /** Id of the adapter at a 0-based index, zero-padded so that ids sort in index order. */
    public String adapterId(int index) {
        int width = Math.max(3, String.valueOf(Math.max(0, count - 1)).length());
        return idPrefix + String.format("%0" + width + "d", index);
    }
}
