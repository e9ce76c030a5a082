package io.twinserve.api.server.inference;

import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.sample.TokenLogprobs;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.router.RouteRequest;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * The sequences of one request, started together or the first one first (see {@link DeploymentRuntime#submit}).
 * Each choice's submission has its own sink, which knows the replica it counts on; a choice whose replica failed
 * before its caller saw anything moves to another (the runtime's rescue) with a new sink, its count in flight and
 * the request's prefill estimate with it. Written by the request's thread and by failing loops' threads, hence the
 * atomics.
 */
final class Choices implements LiveEngine.Handle {
    final DeploymentRuntime runtime;
    private final RouteRequest route;
    private final String adapter;
    private final int[] prompt;
    private final List<SamplingParams> choices;
    private final List<TokenSink> sinks;
    private final long ttftMs;
    /** The replica each choice is on (counted in flight there): the routed one until a rescue moves it. */
    private final AtomicReferenceArray<ReplicaHandle> at;
    /** Each choice's handle on the loop it is queued in (the latest, after a move). */
    private final AtomicReferenceArray<LiveEngine.Handle> handles;
    /** The prefill tokens the routed replica's estimate counts for the request, until its first token. */
    private final long prefill;
    /** The replica whose estimate counts {@link #prefill}; null once the first token came. */
    private final AtomicReference<ReplicaHandle> prefillAt;

    private volatile boolean cancelled;
    /** Whether choices after the first were queued (or, when the first ended early, told they ended). */
    private final AtomicBoolean restStarted = new AtomicBoolean();

    Choices(
            DeploymentRuntime runtime,
            ReplicaHandle replica,
            RouteRequest route,
            String adapter,
            int[] prompt,
            List<SamplingParams> choices,
            List<TokenSink> sinks,
            long ttftMs,
            long prefill) {
        this.runtime = runtime;
        this.route = route;
        this.adapter = adapter;
        this.prompt = prompt;
        this.choices = choices;
        this.sinks = sinks;
        this.ttftMs = ttftMs;
        this.prefill = prefill;
        this.prefillAt = new AtomicReference<>(replica);
        this.handles = new AtomicReferenceArray<>(choices.size());
        this.at = new AtomicReferenceArray<>(choices.size());
        for (int i = 0; i < choices.size(); i++) {
            at.set(i, replica);
        }
    }

    /** The request's first token (or its end): its prefill leaves the estimate that counts it, once. */
    private void firstToken() {
        ReplicaHandle r = prefillAt.getAndSet(null);
        if (r != null) {
            r.pendingPrefillTokens.addAndGet(-prefill);
        }
    }

    void start(boolean stagger) {
        ReplicaHandle routed = at.get(0);
        try {
            submit(0, stagger, routed);
        } catch (RuntimeException e) {
            firstToken();
            routed.inFlight.addAndGet(-choices.size());
            cancel();
            throw e;
        }
        if (!stagger) {
            startRest(null);
        }
    }

    private GenerationRequest request(int i) {
        return new GenerationRequest(adapter, prompt, choices.get(i), i == 0 ? ttftMs : 0);
    }

    private void submit(int i, boolean stagger, ReplicaHandle on) {
        ChoiceSink sink = new ChoiceSink(this, i, stagger, on);
        // the first choice is the request's admission; the others belong to it, and are taken by a replica that
        // is closing too (its loop finishes what it holds), so that an accepted request is answered whole
        LiveEngine.Handle h =
                i == 0 ? on.engine.submit(request(i), sink) : on.engine.submitAlongside(request(i), sink, 0);
        publish(i, on, h);
    }

    /**
     * Keeps {@code h}, choice i's handle on {@code on}, unless a rescue inside that submission (the replica failed
     * meanwhile) has moved the choice on already; then cancels it if the request was cancelled meanwhile.
     */
    private void publish(int i, ReplicaHandle on, LiveEngine.Handle h) {
        // atomic with a move's change of at (moveTo): a rescue that moved the choice on meanwhile, and published
        // its own handle, must not be overwritten by this stale one
        synchronized (this) {
            if (at.get(i) == on) {
                handles.set(i, h);
            }
        }
        if (cancelled) {
            LiveEngine.Handle now = handles.get(i);
            if (now != null) {
                now.cancel();
            }
        }
    }

    /** The prefix-cache keys of the prompt followed by {@code answer} (the next turn's prompt starts so). */
    private long[] answerKeys(int[] answer) {
        int[] conversation = java.util.Arrays.copyOf(prompt, prompt.length + answer.length);
        System.arraycopy(answer, 0, conversation, prompt.length, answer.length);
        return PrefixKeys.ofTokens(conversation, runtime.blockSize, route.adapter());
    }

    /** A rescue of choice {@code c} off the failed replica {@code from} (see the runtime's rescue). */
    boolean move(ChoiceSink c, ReplicaHandle from, GenerationRequest request, long waitedNs) {
        if (cancelled || c.replica() != from || at.get(c.index()) != from) {
            return false;
        }
        return resubmit(c.index(), c.stagger(), from, request, waitedNs);
    }

    /**
     * Queues choice {@code i}, counted on {@code from} (failed), on a replica the router picks among those still
     * serving, its count in flight and (while it counts there) the request's prefill estimate moved with it.
     * Returns false when none could take it.
     */
    private boolean resubmit(int i, boolean stagger, ReplicaHandle from, GenerationRequest request, long waitedNs) {
        for (int attempt = 0; attempt < runtime.replicas.size(); attempt++) {
            ReplicaHandle to;
            synchronized (runtime.router) {
                try {
                    to = runtime.router.route(route, runtime.routable());
                } catch (IllegalStateException e) {
                    return false;
                }
                // its prompt's blocks will be cached there (the cache-aware estimate), its count in flight moves
                to.routed(route.blockHashes(), 0);
            }
            boolean prefillMoved = prefillAt.compareAndSet(from, to);
            if (prefillMoved) {
                from.pendingPrefillTokens.addAndGet(-prefill);
                to.pendingPrefillTokens.addAndGet(prefill);
            }
            synchronized (this) {
                at.set(i, to);
            }
            if (i == 0 && sinks.get(0) instanceof DeploymentShadow.Tracked t) {
                // the shadow twin replays it where it is served (told first: it may end there at once)
                t.movedTo(to.index);
            }
            try {
                // a request the deployment accepted: a replica that is closing takes it while its loop runs
                LiveEngine.Handle h =
                        to.engine.submitAlongside(request, new ChoiceSink(this, i, stagger, to), waitedNs);
                from.inFlight.decrementAndGet();
                publish(i, to, h);
                return true;
            } catch (RuntimeException e) {
                // that one failed too (or is closing): undo, and try another while any fails this way
                to.inFlight.decrementAndGet();
                if (prefillMoved && prefillAt.compareAndSet(to, from)) {
                    to.pendingPrefillTokens.addAndGet(-prefill);
                    from.pendingPrefillTokens.addAndGet(prefill);
                }
                synchronized (this) {
                    at.compareAndSet(i, to, from);
                }
                if (!to.engine.failed()) {
                    return false;
                }
            }
        }
        return false;
    }

    /**
     * Queues choices 1..n-1, once, on the replica the first choice is on now (its prompt's blocks are
     * cached there; another if that one has failed since). {@code firstEnded} is the first choice's end when it
     * ended before any token (a timeout, an error, a cancellation): the others then end the same way without
     * running.
     */
    private void startRest(Completion firstEnded) {
        if (choices.size() == 1 || !restStarted.compareAndSet(false, true)) {
            return;
        }
        boolean ran = firstEnded == null
                || firstEnded.reason() == Completion.FinishReason.STOP
                || firstEnded.reason() == Completion.FinishReason.LENGTH;
        ReplicaHandle first = at.get(0);
        for (int i = 1; i < choices.size(); i++) {
            ReplicaHandle charged = at.get(i);
            if (charged != first) {
                // the first choice was moved off a failed replica: the others follow it
                charged.inFlight.decrementAndGet();
                first.inFlight.incrementAndGet();
                synchronized (this) {
                    at.set(i, first);
                }
            }
            if (ran && !cancelled) {
                try {
                    submit(i, false, first);
                    continue;
                } catch (RuntimeException e) {
                    if (first.engine.failed() && resubmit(i, false, first, request(i), 0)) {
                        continue;
                    }
                    firstEnded = new Completion(
                            Completion.FinishReason.ERROR,
                            prompt.length,
                            0,
                            0,
                            0,
                            -1,
                            0,
                            "",
                            new int[0],
                            e.getMessage());
                }
            }
            Completion.FinishReason reason =
                    firstEnded == null || ran && cancelled ? Completion.FinishReason.CANCELLED : firstEnded.reason();
            try {
                sinks.get(i)
                        .onFinished(new Completion(
                                reason,
                                prompt.length,
                                0,
                                0,
                                0,
                                -1,
                                0,
                                "",
                                new int[0],
                                firstEnded == null ? null : firstEnded.error()));
            } finally {
                at.get(i).inFlight.decrementAndGet();
            }
        }
    }

    @Override
    public void cancel() {
        cancelled = true;
        for (int i = 0; i < handles.length(); i++) {
            LiveEngine.Handle h = handles.get(i);
            if (h != null) {
                h.cancel();
            }
        }
    }

    /**
     * What one submission of choice {@code index} streams to: the caller's sink, with the request's accounting
     * around it; {@code replica} is where it was queued, counted in flight until it ends.
     */
    record ChoiceSink(Choices owner, int index, boolean stagger, ReplicaHandle replica) implements TokenSink {
        @Override
        public void onToken(int tokenId, String text) {
            onToken(tokenId, text, null);
        }

        @Override
        public void onToken(int tokenId, String text, TokenLogprobs logprobs) {
            owner.firstToken();
            owner.sinks.get(index).onToken(tokenId, text, logprobs);
            if (index == 0 && stagger) {
                // the prompt's full blocks are in the prefix cache now
                owner.startRest(null);
            }
        }

        @Override
        public boolean rewind() {
            return owner.sinks.get(index).rewind();
        }

        @Override
        public void onFinished(Completion completion) {
            owner.firstToken();
            if (index == 0 && stagger) {
                owner.startRest(completion);
            }
            if (index == 0 && owner.runtime.routesByPrefix && completion.completionTokens() > 0) {
                // the engine cached the blocks its answer filled: the cache-aware router's estimate learns them
                replica.remember(owner.answerKeys(completion.tokenIds()));
            }
            try {
                // recorded (usage, interaction) before it stops counting as in flight, so that a
                // shutdown that drained to zero finds every finished request's records to flush
                owner.sinks.get(index).onFinished(completion);
            } finally {
                replica.inFlight.decrementAndGet();
            }
        }
    }
}
