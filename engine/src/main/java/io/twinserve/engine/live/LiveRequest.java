package io.twinserve.engine.live;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.DeviceDraws;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.sample.Sampler;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.sample.TokenLogprobs;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.Sequence;
import java.util.Arrays;
import java.util.Set;

/**
 * One request inside the live loop: its tokens so far, its sampler, text decoder and stop matcher, the
 * token that waits to be streamed, and its one way out, {@link #complete}. Touched by the loop's thread
 * only (and by a submitting thread before the loop sees it).
 */
final class LiveRequest {
    final GenerationRequest request;
    private final Sampler sampler;
    private final Detokenizer.Stream text;
    private final StopMatcher stop;
    final long arrivalNs;
    /** The adapter's registry index, or -1 for the base model. */
    final int adapter;

    private final TokenSink sink;
    /** The scheduler's view of it; null until the loop admits it. */
    Sequence sequence;
    /** Prompt, then generated tokens: {@code length} of them are filled. */
    private final int[] tokens;

    int length;
    /** The token sampled last and the text it released, streamed when the scheduler completes the step. */
    private String pendingText = "";

    private int pendingToken = -1;
    /** The log-probabilities of the pending token, when the request asked for them. */
    private TokenLogprobs pendingLogprobs;
    /** Why sampling ended it (a stop, or max_tokens), before the scheduler finishes it; null while it runs. */
    private Completion.FinishReason endedBy;

    private boolean completed;
    /** The KV cache's block size (set at admission). */
    private int blockSize = Integer.MAX_VALUE;
    /** Whether a token of it reached its sink. */
    private boolean streamed;

    LiveRequest(GenerationRequest request, TokenSink sink, Detokenizer detokenizer, long arrivalNs, int adapter) {
        this.request = request;
        this.adapter = adapter;
        this.sink = sink;
        this.sampler = new Sampler(request.sampling(), request.promptTokens());
        this.text = detokenizer.open();
        this.stop = new StopMatcher(request.sampling().stopStrings());
        this.arrivalNs = arrivalNs;
        this.tokens = new int[request.promptTokens().length + request.sampling().maxTokens()];
        System.arraycopy(request.promptTokens(), 0, tokens, 0, request.promptTokens().length);
        this.length = request.promptTokens().length;
    }

    /**
     * Refuses a request the loop could never serve, saying why: longer than {@code max_model_len}, more
     * than the whole KV cache holds (the twin's admission rule: it would preempt itself forever), or with a
     * prompt token outside the vocabulary.
     */
    static void requireServable(
            GenerationRequest request, int maxModelLen, Scheduler scheduler, Backend backend, int vocabSize) {
        int prompt = request.promptTokens().length;
        int total = prompt + request.sampling().maxTokens();
        if (total > maxModelLen) {
            throw new IllegalArgumentException("prompt (" + prompt + " tokens) + max_tokens ("
                    + request.sampling().maxTokens() + ") = " + total + " exceeds max_model_len " + maxModelLen);
        }
        if (!scheduler.admissible(prompt, request.sampling().maxTokens())) {
            long blocksNeeded = Math.max(
                    (total - 1L + backend.blockSize() - 1) / backend.blockSize(),
                    ((long) prompt + backend.blockSize() - 1) / backend.blockSize() + 1);
            throw new IllegalArgumentException("the request needs " + blocksNeeded * backend.blockSize()
                    + " KV tokens but kv_cache_len is " + backend.kvCacheTokens());
        }
        for (int id : request.promptTokens()) {
            if (id < 0 || id >= vocabSize) {
                throw new IllegalArgumentException(
                        "prompt token id " + id + " is outside the vocabulary of " + vocabSize);
            }
        }
        for (int id : request.sampling().logitBias().keySet()) {
            if (id >= vocabSize) {
                throw new IllegalArgumentException(
                        "logit_bias names token id " + id + ", outside the vocabulary of " + vocabSize);
            }
        }
    }

    /**
     * Gives it the scheduler's sequence {@code id}, with its adapter's {@code rank}, the prefix-cache keys of
     * its prompt's full blocks and its first-token deadline when it has one.
     */
    void admit(long id, int rank, int blockSize) {
        this.blockSize = blockSize;
        // chained hashes of full blocks, seeded by the adapter: K/V depend on the adapter's k and v projections
        long[] blockHashes = PrefixKeys.ofTokens(request.promptTokens(), blockSize, adapter);
        sequence = new Sequence(
                id, id, arrivalNs, adapter, rank, length, request.sampling().maxTokens(), blockHashes);
        if (request.maxTtftMs() > 0) {
            sequence.deadlineNs(arrivalNs + request.maxTtftMs() * 1_000_000L);
        }
    }

    /**
     * Adds its planned chunk to the step's batch, applying the adapter in {@code slot} (-1: none).
     * {@code blocks} is scratch for its block table, grown when short; the scratch to keep is returned.
     */
    int[] addTo(ForwardBatch batch, int slot, int[] blocks) {
        KvBlockManager.BlockTable table = sequence.blockTable();
        if (blocks.length < table.size()) {
            blocks = new int[Math.max(table.size(), blocks.length * 2)];
        }
        for (int i = 0; i < table.size(); i++) {
            blocks[i] = table.get(i);
        }
        batch.add(
                tokens,
                sequence.computedTokens(),
                sequence.chunkTokens(),
                sequence.computedTokens(),
                slot,
                blocks,
                table.size(),
                sequence.samplesThisStep());
        return blocks;
    }

    /**
     * Samples its next token from its row of {@code logits}, holds it and the text it releases for
     * streaming, and notes whether it ends the request: a stop token (the model's, unless end-of-sequence is
     * ignored, or the request's own), a stop string, or {@code max_tokens}. Called only on a step that
     * samples for it.
     */
    void sample(float[] logits, int offset, int vocab, Set<Integer> stopTokens) {
        accept(sampler.sample(logits, offset, vocab), stopTokens);
    }

    /**
     * Marks its logit row {@code row} to be drawn on the device when its sampling allows it (no penalties, bias or
     * log-probabilities), with the uniform draw its seeded stream gives; returns whether it did.
     */
    boolean drawOnDevice(DeviceDraws draws, int row) {
        if (!sampler.drawableOnDevice()) {
            return false;
        }
        SamplingParams p = request.sampling();
        if (p.isGreedy()) {
            draws.set(row, 0, 0, 0);
        } else {
            draws.set(row, p.temperature(), p.minP(), p.topK(), p.topP(), sampler.nextUniform());
        }
        return true;
    }

    /** Takes the token the device drew for it, as {@link #sample} takes the one it draws. */
    void drawn(int token, Set<Integer> stopTokens) {
        accept(token, stopTokens);
    }

    private void accept(int token, Set<Integer> stopTokens) {
        tokens[length++] = token;
        if (length % blockSize == 0 && sequence.hashedBlocks() == length / blockSize - 1) {
            // a block of its answer is full: keyed now, cached once computed (a chat's next turn repeats it)
            int b = length / blockSize - 1;
            long previous = b == 0 ? PrefixKeys.seed(adapter) : sequence.blockHash(b - 1);
            sequence.appendBlockHash(PrefixKeys.next(previous, tokens, b * blockSize, blockSize));
        }
        int count = sequence.generated() + 1;
        SamplingParams params = request.sampling();
        boolean stopToken = (!params.ignoreEos() && stopTokens.contains(token))
                || params.stopTokenIds().contains(token);
        String released = stop.offer(stopToken ? "" : text.next(token));
        pendingToken = token;
        pendingText = released;
        pendingLogprobs = params.logprobs() >= 0 ? TokenLogprobs.of(sampler) : null;
        if (stopToken || stop.stopped()) {
            endedBy = Completion.FinishReason.STOP;
            sequence.endAfter(count);
        } else if (count >= params.maxTokens()) {
            endedBy = Completion.FinishReason.LENGTH;
            pendingText = released + stop.flush();
        }
    }

    /** Why sampling ended it, or null while it runs: a request the scheduler finishes otherwise hit its length. */
    Completion.FinishReason endedBy() {
        return endedBy;
    }

    /** Streams the token sampled last to the caller. */
    void emitPending() {
        streamed = true;
        sink.onToken(pendingToken, pendingText, pendingLogprobs);
    }

    /** Whether a token of it reached its sink (then it cannot run again elsewhere unseen). */
    boolean streamed() {
        return streamed;
    }

    TokenSink sink() {
        return sink;
    }

    /** Another loop took it over (a failed loop's rescue): it ends there, never here. */
    void handedOver() {
        completed = true;
    }

    /**
     * Ends the request: its sink hears how, once (a second call does nothing). The counts come from the
     * request itself: the tokens it generated, its text so far, and from its sequence (when it was
     * admitted) the preemptions and the first token's time; cached prompt tokens are reported for a
     * request that ran to its end ({@code STOP} or {@code LENGTH}); a request never admitted has no latency.
     *
     * @param error what went wrong, for {@link Completion.FinishReason#ERROR}; null otherwise
     */
    void complete(Completion.FinishReason reason, long nowNs, String error) {
        if (completed) {
            return;
        }
        completed = true;
        int prompt = request.promptTokens().length;
        Sequence s = sequence;
        boolean ranToEnd = reason == Completion.FinishReason.STOP || reason == Completion.FinishReason.LENGTH;
        int cached = ranToEnd && s != null ? (int) Math.min(prompt, s.cachedTokens()) : 0;
        int preemptions = s == null ? 0 : s.preemptions();
        long ttftNs = s == null || s.firstTokenNs() < 0 ? -1 : s.firstTokenNs() - arrivalNs;
        long latencyNs = s == null ? 0 : nowNs - arrivalNs;
        sink.onFinished(new Completion(
                reason,
                prompt,
                length - prompt,
                cached,
                preemptions,
                ttftNs,
                latencyNs,
                stop.text(),
                Arrays.copyOfRange(tokens, prompt, length),
                error));
    }
}
