package io.twinserve.experiments.validate;

import io.twinserve.traces.Request;
import io.twinserve.twin.sched.Scheduler;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A workload made servable by both sides: in arrival order, its adapters mapped onto the adapters given,
 * without the prefix hashes the live replay cannot reproduce (its prompts are random tokens), and every request
 * checked against the serving limits. A session's turns keep theirs: the replay builds each turn's prompt from
 * the previous turn's prompt and the answer the live engine gave ({@link LiveReplay}).
 *
 * @param notes what was changed, for the report
 */
record ServedWorkload(List<Request> requests, String source, List<String> notes) {

    static ServedWorkload of(List<Request> workload, List<String> adapters, String source, ServingSettings settings) {
        List<Request> sorted = new ArrayList<>(workload);
        sorted.sort(Comparator.comparingLong(Request::arrivalNs));
        Map<String, String> mapping = new LinkedHashMap<>();
        boolean stripped = false;
        List<Request> out = new ArrayList<>(sorted.size());
        for (Request r : sorted) {
            String adapter = r.adapterId();
            if (adapter != null && !adapters.contains(adapter)) {
                if (adapters.isEmpty()) {
                    throw new IllegalArgumentException("the workload " + source + " uses adapter '" + adapter
                            + "' (request " + r.id() + ") but no adapter was given; pass --adapter NAME=DIR");
                }
                // ids the workload names but no adapter answers to are dealt onto the given ones in order
                adapter = mapping.computeIfAbsent(adapter, k -> adapters.get(mapping.size() % adapters.size()));
            }
            // a session's turns keep their hashes: the live replay builds each turn's prompt from the previous turn's
            // prompt and answer, so both sides can reuse the same prefix; other prefix hashes cannot be reproduced
            stripped |= r.hasPrefixHashes() && !r.hasSession();
            long total = (long) r.promptTokens() + r.outputTokens();
            if (total > settings.maxModelLen()) {
                throw new IllegalArgumentException("the workload " + source + ": request " + r.id() + " needs "
                        + r.promptTokens() + " prompt + " + r.outputTokens() + " output tokens, above max_model_len "
                        + settings.maxModelLen() + " of the profile's deployment");
            }
            // the twin's admission rule (and the live engine's): the whole cache holds the request by its last
            // computed token, with a block beyond the prompt free for its first decode
            long blocks = Math.max(
                    (total - 1 + settings.blockSize() - 1) / settings.blockSize(),
                    (r.promptTokens() + settings.blockSize() - 1) / settings.blockSize() + 1);
            if (!Scheduler.admissible(
                    r.promptTokens(),
                    r.outputTokens(),
                    settings.maxModelLen(),
                    settings.blockSize(),
                    settings.kvCacheTokens() / settings.blockSize())) {
                throw new IllegalArgumentException("the workload " + source + ": request " + r.id() + " needs "
                        + blocks * settings.blockSize() + " KV tokens, above kv_cache_len " + settings.kvCacheTokens()
                        + " of the profile's deployment");
            }
            out.add(
                    r.hasSession()
                            ? new Request(
                                    r.id(),
                                    r.arrivalNs(),
                                    r.sessionId(),
                                    r.turnIndex(),
                                    adapter,
                                    r.promptTokens(),
                                    r.outputTokens(),
                                    r.prefixBlockSize(),
                                    r.prefixHashes())
                            : Request.of(r.id(), r.arrivalNs(), adapter, r.promptTokens(), r.outputTokens()));
        }
        List<String> notes = new ArrayList<>();
        if (!mapping.isEmpty()) {
            notes.add("the workload's adapters were mapped onto the given ones: "
                    + mapping.toString().replace("=", " -> ").replace("{", "").replace("}", ""));
        }
        if (stripped) {
            notes.add("the workload's prefix hashes outside sessions were dropped: the live replay's prompts are random"
                    + " tokens, so neither side reuses those prefixes (a session's turns keep theirs)");
        }
        return new ServedWorkload(List.copyOf(out), source, notes);
    }

    TwinVsLiveReport.Workload summary(Map<String, Path> adapterDirs, Map<String, Integer> ranks, int warmupRequests) {
        long prompt = 0;
        long output = 0;
        Map<String, Integer> uses = new LinkedHashMap<>();
        for (String name : adapterDirs.keySet()) {
            uses.put(name, 0);
        }
        for (Request r : requests) {
            prompt += r.promptTokens();
            output += r.outputTokens();
            if (r.adapterId() != null) {
                uses.merge(r.adapterId(), 1, Integer::sum);
            }
        }
        List<TwinVsLiveReport.AdapterUse> adapters = new ArrayList<>();
        for (Map.Entry<String, Path> a : adapterDirs.entrySet()) {
            adapters.add(new TwinVsLiveReport.AdapterUse(
                    a.getKey(),
                    a.getValue().toAbsolutePath().normalize().toString(),
                    ranks.get(a.getKey()),
                    uses.get(a.getKey())));
        }
        return new TwinVsLiveReport.Workload(
                source,
                requests.size(),
                prompt,
                output,
                requests.getLast().arrivalNs() / 1e9,
                adapters,
                Math.min(warmupRequests, requests.size()));
    }
}
