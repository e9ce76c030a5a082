package io.twinserve.traces.gen;

import io.twinserve.traces.Request;
import io.twinserve.traces.spec.LengthsSpec;
import io.twinserve.traces.spec.SessionsSpec;
import java.util.Arrays;
import java.util.PriorityQueue;
import java.util.SplittableRandom;
import java.util.function.Supplier;

/**
 * Interleaves the turns of overlapping multi-turn sessions in arrival order.
 *
 * <p>Each turn's prompt is the session's whole context so far (earlier prompts and answers) plus a new
 * message. The turn's blocks of {@code block_size} tokens, its prompt's and then its answer's, get
 * chained hashes that depend only on the session and the block's position, so a later turn repeats the
 * hashes of every full block of the earlier context, answers included, and a prefix cache can reuse
 * them (a serving engine caches the blocks it generates, too). A partial last block gets a hash of its
 * own (it differs from the full block it later becomes), as Mooncake's {@code hash_ids} do.
 */
final class SessionTurns {
    private static final long NOT_FETCHED = Long.MIN_VALUE;

    private final SessionsSpec spec;
    private final LengthsSpec caps;
    private final LengthDraw lengths;
    private final Samplers.IntSampler turns;
    private final Samplers.RealSampler thinkSeconds;
    private final SplittableRandom rng;
    private final Supplier<String> adapterPicker;
    private final PriorityQueue<Session> active = new PriorityQueue<>(
            (a, b) -> a.nextNs != b.nextNs ? Long.compare(a.nextNs, b.nextNs) : Long.compare(a.seq, b.seq));
    private long pendingStartNs = NOT_FETCHED;
    private long sessionCount;
    private long sequence;

    SessionTurns(
            SessionsSpec spec,
            LengthsSpec caps,
            LengthDraw lengths,
            Samplers samplers,
            SplittableRandom rng,
            Supplier<String> adapterPicker) {
        this.spec = spec;
        this.caps = caps;
        this.lengths = lengths;
        this.rng = rng;
        this.turns = samplers.ints(spec.turns(), rng.split(), "sessions.turns");
        this.thinkSeconds = samplers.real(spec.thinkTimeS(), rng.split(), "sessions.think_time_s");
        this.adapterPicker = adapterPicker;
    }

    /** The next turn of any session, or null when none arrives before {@code durationNs}. */
    Request next(ArrivalProcess arrivals, long durationNs, long id) {
        while (true) {
            if (pendingStartNs == NOT_FETCHED) {
                pendingStartNs = arrivals.next();
            }
            Session top = active.peek();
            // a session that starts at the same time as a pending turn goes first: it was scheduled earlier
            boolean start = top == null || pendingStartNs <= top.nextNs;
            long t = start ? pendingStartNs : top.nextNs;
            if (t >= durationNs) {
                return null;
            }
            Session s;
            if (start) {
                s = newSession();
                pendingStartNs = NOT_FETCHED;
            } else {
                s = active.poll();
            }
            Request r = turn(s, t, id);
            if (r == null) {
                continue;
            }
            if (s.turn < s.turns) {
                s.nextNs = t + Math.max(0L, (long) (thinkSeconds.sample() * 1e9));
                s.seq = sequence++;
                active.add(s);
            }
            return r;
        }
    }

    private Session newSession() {
        Session s = new Session();
        s.id = "s" + sessionCount++;
        s.turns = Math.max(1, turns.sample());
        s.salt = rng.nextLong();
        s.adapter = spec.shareAdapter() ? adapterPicker.get() : null;
        return s;
    }

    /** Builds the session's next turn at time t, or returns null when its context outgrows the caps. */
    private Request turn(Session s, long t, long id) {
        int prompt;
        int output;
        if (s.turn == 0) {
            lengths.draw();
            prompt = lengths.promptTokens;
            output = lengths.outputTokens;
        } else {
            int message = lengths.drawMessage();
            output = lengths.clipOutput(lengths.outputTokens);
            long total = s.contextTokens + message;
            if (total > caps.maxPrompt() || total + output > caps.maxTotal()) {
                return null;
            }
            prompt = (int) total;
        }
        int blockSize = spec.blockSize();
        // the hashes run on over the answer: the next turn's prompt repeats it, so its blocks can be cached
        int tokens = prompt + output;
        int full = tokens / blockSize;
        int partial = tokens % blockSize;
        s.extendHashes(full);
        long[] hashes = Arrays.copyOf(s.hashes, full + (partial > 0 ? 1 : 0));
        if (partial > 0) {
            long previous = full == 0 ? s.salt : s.hashes[full - 1];
            hashes[full] = mix(previous ^ 0x6a09e667f3bcc909L ^ partial) & Long.MAX_VALUE;
        }
        String adapter = spec.shareAdapter() ? s.adapter : adapterPicker.get();
        Request r = new Request(id, t, s.id, s.turn, adapter, prompt, output, blockSize, hashes);
        s.contextTokens = (long) prompt + output;
        s.turn++;
        return r;
    }

    /** SplitMix64's output mixing function (Steele, Lea and Flood, OOPSLA 2014). */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** One conversation in progress. */
    private static final class Session {
        String id;
        String adapter;
        int turns;
        int turn;
        long contextTokens;
        long salt;
        long nextNs;
        long seq;
        long[] hashes = new long[8];
        int hashCount;

        void extendHashes(int full) {
            if (full > hashes.length) {
                hashes = Arrays.copyOf(hashes, Math.max(full, hashes.length * 2));
            }
            for (int i = hashCount; i < full; i++) {
                long previous = i == 0 ? salt : hashes[i - 1];
                hashes[i] = mix(previous + 0x9e3779b97f4a7c15L * (i + 1)) & Long.MAX_VALUE;
            }
            hashCount = Math.max(hashCount, full);
        }
    }
}
