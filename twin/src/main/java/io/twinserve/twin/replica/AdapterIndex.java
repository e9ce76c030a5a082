package io.twinserve.twin.replica;

import io.twinserve.traces.Request;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Numbers the adapters a run meets in order of first use and keeps their ranks. Shared by the replicas of
 * one deployment, so that an adapter has one index (and one prefix-key seed) on all of them. Refuses an
 * adapter on a replica without LoRA and one whose rank is above {@code max_adapter_rank}.
 */
public final class AdapterIndex {
    private final Map<String, Integer> indices = new HashMap<>();
    private int[] ranks = new int[16];
    private final int maxAdapters;
    private final int maxAdapterRank;
    private final String owner;

    /**
     * @param owner what the error messages name first (such as "deployment chat: "), or ""
     */
    public AdapterIndex(int maxAdapters, int maxAdapterRank, String owner) {
        this.maxAdapters = maxAdapters;
        this.maxAdapterRank = maxAdapterRank;
        this.owner = owner;
    }

    /**
     * The index of the request's adapter (-1 for the base model), numbering it on first use with its rank
     * from {@code knownRanks}, or {@code defaultRank} when they do not name it.
     */
    public int indexOf(Request r, Map<String, Integer> knownRanks, int defaultRank) {
        String id = r.adapterId();
        if (id == null) {
            return -1;
        }
        Integer known = indices.get(id);
        if (known != null) {
            return known;
        }
        if (maxAdapters == 0) {
            throw new IllegalArgumentException(owner + "request " + r.id() + " uses adapter " + id
                    + " but replica.max_adapters is 0 (LoRA disabled)");
        }
        int rank = knownRanks.getOrDefault(id, defaultRank);
        if (rank > maxAdapterRank) {
            throw new IllegalArgumentException(owner + "adapter " + id + " has rank " + rank
                    + ", above max_adapter_rank " + maxAdapterRank + "; raise replica.max_adapter_rank");
        }
        int index = indices.size();
        indices.put(id, index);
        if (index >= ranks.length) {
            ranks = Arrays.copyOf(ranks, ranks.length * 2);
        }
        ranks[index] = rank;
        return index;
    }

    /** The rank of adapter {@code index} (0 for the base model, -1). */
    public int rank(int index) {
        return index < 0 ? 0 : ranks[index];
    }

    /** Adapters numbered so far. */
    public int size() {
        return indices.size();
    }
}
