package io.twinserve.api.server.inference;

import io.twinserve.api.db.generated.tables.records.AdaptersRecord;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.sim.SimulatedBackend;
import io.twinserve.engine.chat.ChatTemplate;
import io.twinserve.engine.live.Completion;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.sample.SamplingParams;
import io.twinserve.engine.sample.TokenLogprobs;
import io.twinserve.engine.serve.LiveReplicas;
import io.twinserve.engine.tokenizer.Tokenizer;
import io.twinserve.experiments.shadow.ShadowSpec;
import io.twinserve.twin.deploy.ReplicaSpec;
import io.twinserve.twin.deploy.ResolvedReplica;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.router.PrefillPrices;
import io.twinserve.twin.router.RouteRequest;
import io.twinserve.twin.router.Router;
import io.twinserve.twin.router.RouterSpec;
import io.twinserve.twin.router.SessionStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A deployment being served by this server: its replicas (each a live loop over a backend: the CPU
 * engine in live mode, the twin's timing in simulated mode), the router that picks one for each request
 * (the twin's, from {@code placement.router}), the codec for its text, its adapters and, with shadow mode, its
 * twin ({@link DeploymentShadow}).
 *
 * <p>Why it is long: it builds both kinds of deployment (live and simulated), keeps the adapter registry its
 * replicas share, and submits a request's choices (OpenAI's {@code n}) with their staggering over the prefix
 * cache, which must stay together with the routing and in-flight accounting they update.
 */
public final class DeploymentRuntime implements AutoCloseable {
    /** A deployment's adapter: a PEFT directory, or profile-only with a rank (simulated mode). */
    public record AdapterDef(String name, Path path, int rank) {
        static AdapterDef of(AdaptersRecord a) {
            return new AdapterDef(a.getName(), a.getPath() == null ? null : Path.of(a.getPath()), a.getRank());
        }
    }

    /** What the registry says about the deployment. */
    public record Settings(
            String name,
            String mode,
            ReplicaSpec replica,
            long maxTtftMs,
            int replicas,
            double timeScale,
            boolean retainText,
            RouterSpec router,
            ShadowSpec shadow,
            FaultSpec fault) {
        public Settings {
            fault = fault == null ? FaultSpec.NONE : fault;
            if (fault.fails() && fault.failReplica() >= replicas) {
                throw new IllegalArgumentException("compute_config.fault.fail_replica is " + fault.failReplica()
                        + " but the deployment has " + replicas + " replica(s), numbered from 0");
            }
        }
    }

    /**
     * The cache-aware prices of a live (CPU engine) replica, which has no perf model: a running request's
     * share of the interleaved steps counts as four prompt tokens of prefill. Only their ratio matters, since
     * the estimates compare replicas of one deployment.
     */
    static final PrefillPrices LIVE_PRICES = new PrefillPrices(1.0, 4.0);

    private static final long[] NO_KEYS = new long[0];

    private final Settings settings;
    private final TextCodec codec;
    private final List<ReplicaHandle> replicas;
    /** The runtime that replaced this one ({@link #replaceWith}), or null. */
    private volatile DeploymentRuntime successor;

    /** The successor being built while this runtime has drained for it ({@link #drainFor}), or null. */
    private volatile CompletableFuture<DeploymentRuntime> handover;

    /** How long a request that reaches a drained runtime waits for its successor (a model's upload to a GPU). */
    static final long HANDOVER_WAIT_S = 600;

    private final Router router;
    /** Whether the router reads prefix caches (cache_aware on a replica with prefix caching). */
    private final boolean routesByPrefix;

    private final int blockSize;
    /** Adapter names by the index routers know them by: append-only, so an index never changes meaning. */
    private final List<String> adapterIds;

    private final Map<String, AdapterDef> adapters = new ConcurrentHashMap<>();
    /** Each adapter's rank, for the shadow twin (it prices LoRA by rank). */
    private final Map<String, Integer> adapterRanks = new ConcurrentHashMap<>();

    private final int maxModelLen;
    /** The shadow twin, or null. */
    private volatile DeploymentShadow shadow;

    private final List<String> skipped = new ArrayList<>();

    DeploymentRuntime(
            Settings settings,
            TextCodec codec,
            List<ReplicaHandle> replicas,
            List<String> adapterIds,
            List<AdapterDef> adapters,
            int maxModelLen,
            SessionStore sessions) {
        this.settings = settings;
        this.maxModelLen = maxModelLen;
        this.codec = codec;
        this.replicas = List.copyOf(replicas);
        this.adapterIds = adapterIds;
        this.router = Router.of(settings.router(), sessions);
        var scheduler = this.replicas.get(0).engine.schedulerConfig();
        this.blockSize = scheduler.blockSize();
        this.routesByPrefix = settings.router() instanceof RouterSpec.CacheAware && scheduler.prefixCaching();
        for (ReplicaHandle h : this.replicas) {
            h.engine.onFailure((request, sink, waitedNs) -> rescue(h, request, sink, waitedNs));
        }
        for (AdapterDef a : adapters) {
            try {
                addAdapter(a);
            } catch (IllegalArgumentException e) {
                // one adapter the replicas cannot take (a rank above max_adapter_rank) must not stop the deployment
                skipped.add("'" + a.name() + "': " + e.getMessage());
            }
        }
    }

    /** The real engine's KV dtype for a replica's {@code kv_cache_dtype}: null for auto (the model's). */
    static DType liveKvDtype(ReplicaSpec r) {
        return LiveReplicas.ModelReplica.kvDtype(r);
    }

    /**
     * A live deployment on a real engine: {@code settings.replicas()} copies of the model in this process, on the
     * CPU or (replica i on CUDA device i) on this machine's GPUs.
     *
     * @param sessions where its router records sessions (Redis, shared by the server instances)
     */
    public static DeploymentRuntime live(
            Settings s, Path modelDir, List<AdapterDef> adapters, SessionStore sessions, EngineBackend.Kind kind) {
        TextCodec codec = TextCodec.of(LiveReplicas.tokenizer(modelDir), LiveReplicas.chatTemplate(modelDir));
        LiveReplicas.ModelReplica settings = LiveReplicas.ModelReplica.of(s.replica(), kind);
        List<ReplicaHandle> replicas = new ArrayList<>();
        List<String> adapterIds = new CopyOnWriteArrayList<>();
        int modelLen = 0;
        DeploymentRuntime rt = null;
        try {
            for (int i = 0; i < s.replicas(); i++) {
                LiveReplicas.Replica replica = LiveReplicas.model(
                        modelDir, settings, codec.detokenizer(), i, s.fault().observer(i));
                replicas.add(new ReplicaHandle(i, replica, adapterIds, LIVE_PRICES));
                modelLen = replica.engine().schedulerConfig().maxModelLen();
            }
            rt = new DeploymentRuntime(s, codec, replicas, adapterIds, adapters, modelLen, sessions);
            if (s.shadow() != null) {
                rt.shadow = new DeploymentShadow(
                        s,
                        DeploymentShadow.live(
                                s,
                                replicas.get(0).engine.schedulerConfig(),
                                s.shadow().profile()),
                        rt.adapterRanks);
            }
            return rt;
        } catch (RuntimeException | Error e) {
            replicas.forEach(ReplicaHandle::close);
            throw e;
        }
    }

    /** A simulated deployment: the twin's timing for {@code resolved}, placeholder text. */
    public static DeploymentRuntime simulated(
            Settings s, ResolvedReplica resolved, Path modelDir, List<AdapterDef> adapters, SessionStore sessions) {
        Tokenizer tokenizer = null;
        ChatTemplate template = null;
        if (modelDir != null && Files.isRegularFile(modelDir.resolve("tokenizer.json"))) {
            tokenizer = LiveReplicas.tokenizer(modelDir);
            template = LiveReplicas.chatTemplate(modelDir);
        }
        TextCodec codec = TextCodec.placeholder(tokenizer, template);
        List<ReplicaHandle> replicas = new ArrayList<>();
        List<String> adapterIds = new CopyOnWriteArrayList<>();
        PrefillPrices prices = PrefillPrices.of(resolved);
        int modelLen = 0;
        try {
            for (int i = 0; i < s.replicas(); i++) {
                LiveReplicas.Replica replica = LiveReplicas.simulated(
                        resolved, s.timeScale(), codec.detokenizer(), s.fault().observer(i));
                replicas.add(new ReplicaHandle(i, replica, adapterIds, prices));
                modelLen = replica.engine().schedulerConfig().maxModelLen();
            }
            DeploymentRuntime rt = new DeploymentRuntime(s, codec, replicas, adapterIds, adapters, modelLen, sessions);
            if (s.shadow() != null) {
                rt.shadow = new DeploymentShadow(s, resolved, rt.adapterRanks);
            }
            return rt;
        } catch (RuntimeException | Error e) {
            replicas.forEach(ReplicaHandle::close);
            throw e;
        }
    }

    /** The shadow twin, or null when {@code compute_config.shadow} is off. */
    public DeploymentShadow shadow() {
        return shadow;
    }

    /** The KV cache's block size: the prefix cache shares whole blocks. */
    public int blockSize() {
        return blockSize;
    }

    /** The longest prompt + completion a request may have. */
    public int maxModelLen() {
        return maxModelLen;
    }

    public Settings settings() {
        return settings;
    }

    public String name() {
        return settings.name();
    }

    public TextCodec codec() {
        return codec;
    }

    public Set<String> adapterNames() {
        return Set.copyOf(adapters.keySet());
    }

    public boolean hasAdapter(String name) {
        return adapters.containsKey(name);
    }

    /** Registered adapters the replicas refused at start, with the reason. */
    public List<String> skippedAdapters() {
        return List.copyOf(skipped);
    }

    /** Makes an adapter servable on every replica (vLLM's load_lora_adapter). */
    public synchronized void addAdapter(AdapterDef a) {
        if (a.rank() > 0) {
            adapterRanks.put(a.name(), a.rank());
        } else if (a.path() != null) {
            try {
                adapterRanks.put(a.name(), LoraAdapter.readRank(a.path()));
            } catch (RuntimeException e) {
                // the replicas' own load below reports an unreadable adapter
            }
        }
        if (adapters.containsKey(a.name())) {
            throw new IllegalArgumentException(
                    "adapter '" + a.name() + "' is already loaded on deployment '" + name() + "'");
        }
        List<ReplicaHandle> done = new ArrayList<>();
        try {
            for (ReplicaHandle h : replicas) {
                register(h, a);
                done.add(h);
            }
        } catch (RuntimeException e) {
            done.forEach(h -> h.engine.unregisterAdapter(a.name()));
            throw e;
        }
        adapters.put(a.name(), a);
        if (!adapterIds.contains(a.name())) {
            adapterIds.add(a.name());
        }
    }

    static void register(ReplicaHandle h, AdapterDef a) {
        if (h.backend instanceof SimulatedBackend sim) {
            // simulated: the weights are never read; the loader waits the predicted storage read instead
            int rank = a.path() != null ? LoraAdapter.readRank(a.path()) : a.rank();
            h.engine.registerAdapter(a.name(), rank, sim.adapterLoader(rank));
        } else {
            h.engine.registerAdapter(a.name(), a.path());
        }
    }

    /** Stops routing new requests to an adapter; those in flight finish (vLLM's unload_lora_adapter). */
    public synchronized void removeAdapter(String name) {
        if (adapters.remove(name) == null) {
            throw new IllegalArgumentException("adapter '" + name + "' is not loaded on deployment '" + name() + "'");
        }
        for (ReplicaHandle h : replicas) {
            h.engine.unregisterAdapter(name);
        }
    }

    public int replicaCount() {
        return replicas.size();
    }

    /**
     * The fewest requests in flight on any replica still serving (admission control); 0 when none serves, so that
     * the submission is what refuses the request, naming the failures.
     */
    public int leastInFlight() {
        int least = Integer.MAX_VALUE;
        for (ReplicaHandle h : replicas) {
            if (!h.engine.failed()) {
                least = Math.min(least, h.inFlight.get());
            }
        }
        return least == Integer.MAX_VALUE ? 0 : least;
    }

    /** Requests in flight on all replicas (drained at shutdown). */
    public int totalInFlight() {
        int total = 0;
        for (ReplicaHandle h : replicas) {
            total += h.inFlight.get();
        }
        return total;
    }

    /** Requests in flight per replica (for routing and metrics). */
    public int inFlight(int replica) {
        return replicas.get(replica).inFlight.get();
    }

    public LiveEngine.Stats stats(int replica) {
        return replicas.get(replica).engine.stats();
    }

    public LiveEngine.Residency residency(int replica) {
        return replicas.get(replica).engine.residency();
    }

    /** The size of the vocabulary prompts, samples and logit biases use (the placeholder one when simulated). */
    public int vocabSize() {
        return replicas.get(0).backend.config().vocabSize();
    }

    /**
     * Queues a request on the replica the deployment's router picks. {@code session} (null: none) is what
     * sticky routing keys on; its placement is in the router's session store, so every server instance
     * routes a session alike.
     */
    public LiveEngine.Handle submit(
            String adapter, int[] prompt, SamplingParams sampling, String session, TokenSink sink) {
        return submit(adapter, prompt, List.of(sampling), session, List.of(sink));
    }

    /**
     * Queues a request with {@code choices.size()} choices (OpenAI's {@code n}): one sequence per choice,
     * each with its own sampling and sink, all on the one replica the router picks, so that they share its
     * prefix cache. With prefix caching the first choice runs alone until its first token, when its prompt's
     * full blocks are in the cache; the others are then queued and reuse them, computing only the prompt's
     * last, partial block: the prompt is prefilled about once, not n times, at the cost of one step's delay
     * for choices after the first. Without prefix caching all are queued at once. Only the first choice
     * carries the first-token deadline: it is the request's first token.
     *
     * @return a handle that cancels every choice, queued or not
     */
    public LiveEngine.Handle submit(
            String adapter, int[] prompt, List<SamplingParams> choices, String session, List<TokenSink> sinks) {
        DeploymentRuntime next = successor;
        if (next == null && handover != null) {
            next = awaitHandover();
        }
        if (next != null) {
            return next.submit(adapter, prompt, choices, session, sinks);
        }
        try {
            return submitHere(adapter, prompt, choices, session, sinks);
        } catch (IllegalStateException e) {
            // replaced while this request was on its way here (found before the swap, submitted after the close):
            // the runtime that took this one's place serves it, as one that arrived a moment later
            next = successor;
            if (next == null && handover != null) {
                next = awaitHandover();
            }
            if (next == null) {
                throw e;
            }
            return next.submit(adapter, prompt, choices, session, sinks);
        }
    }

    /**
     * Closes this runtime before its successor exists, for a restart on a device that cannot hold both (a GPU the
     * old replicas fill): the requests in flight here finish here, then the device is free for the successor that
     * {@code next} completes with; a request that reaches this runtime meanwhile waits for it (at most {@link
     * #HANDOVER_WAIT_S} s) and is served there, or is refused naming why when the successor could not be built.
     */
    public void drainFor(CompletableFuture<DeploymentRuntime> next) {
        handover = next;
        next.thenAccept(rt -> successor = rt);
        close();
    }

    private DeploymentRuntime awaitHandover() {
        try {
            return handover.get(HANDOVER_WAIT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IllegalStateException(
                    "deployment '" + name() + "' is restarting and its new configuration failed to start: "
                            + e.getCause().getMessage(),
                    e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("deployment '" + name() + "' is restarting; its new configuration was not"
                    + " serving within " + HANDOVER_WAIT_S + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while deployment '" + name() + "' restarts");
        }
    }

    /**
     * Closes this runtime once {@code next} has taken its place (a restart with a new configuration): the
     * requests in flight here finish here, and any that reaches this one after the swap goes to {@code next}
     * instead of being refused (a request that had found this runtime just before the swap did that).
     */
    public void replaceWith(DeploymentRuntime next) {
        successor = next;
        close();
    }

    private LiveEngine.Handle submitHere(
            String adapter, int[] prompt, List<SamplingParams> choices, String session, List<TokenSink> sinks) {
        if (choices.isEmpty() || choices.size() != sinks.size()) {
            throw new IllegalArgumentException(
                    "one sink per choice: " + choices.size() + " choices, " + sinks.size() + " sinks");
        }
        if (adapter != null && !adapters.containsKey(adapter)) {
            throw new IllegalArgumentException("adapter '" + adapter + "' is not loaded on deployment '" + name()
                    + "'; loaded: " + adapters.keySet());
        }
        int adapterIndex = adapter == null ? -1 : adapterIds.indexOf(adapter);
        long[] keys = routesByPrefix ? PrefixKeys.ofTokens(prompt, blockSize, adapterIndex) : NO_KEYS;
        RouteRequest request = new RouteRequest(
                session == null || session.isEmpty() ? null : session, adapterIndex, keys, prompt.length);
        DeploymentShadow twin = shadow;
        List<TokenSink> tracked = sinks;
        boolean shadowed = false;
        // a replica that fails between the router's choice and the submission is left out and the choice made again
        for (int attempt = 0; ; attempt++) {
            ReplicaHandle h;
            long prefill;
            int n = choices.size();
            // routers are not thread-safe; the choice and its accounting happen together, so that concurrent
            // requests see each other's load
            synchronized (router) {
                h = router.route(request, routable());
                prefill = prompt.length - (keys.length == 0 ? 0 : h.cachedPrefixTokens(keys, prompt.length));
                h.routed(keys, prefill);
                // one in flight per sequence: each choice's end takes one off
                h.inFlight.addAndGet(n - 1);
            }
            if (twin != null && !shadowed) {
                tracked = new ArrayList<>(sinks);
                tracked.set(
                        0,
                        twin.track(
                                h.index, adapter, prompt.length, choices.get(0).maxTokens(), sinks.get(0)));
                shadowed = true;
            }
            Choices all = new Choices(this, h, request, adapter, prompt, choices, tracked, wallTtftMs(), prefill);
            boolean stagger = n > 1 && h.engine.schedulerConfig().prefixCaching();
            if (attempt > 0 && tracked.get(0) instanceof DeploymentShadow.Tracked t) {
                // tracked at the first attempt's replica, which failed meanwhile
                t.movedTo(h.index);
            }
            try {
                all.start(stagger);
                return all;
            } catch (IllegalStateException e) {
                if (!h.engine.failed() || attempt >= replicas.size()) {
                    throw e;
                }
            }
        }
    }

    /**
     * The replicas requests may be routed to: all but those whose loop has failed. Refused, naming each failure,
     * when none is left.
     */
    private List<ReplicaHandle> routable() {
        List<ReplicaHandle> healthy = null;
        for (int i = 0; i < replicas.size(); i++) {
            if (replicas.get(i).engine.failed()) {
                if (healthy == null) {
                    healthy = new ArrayList<>(replicas.subList(0, i));
                }
            } else if (healthy != null) {
                healthy.add(replicas.get(i));
            }
        }
        if (healthy == null) {
            return replicas;
        }
        if (healthy.isEmpty()) {
            StringBuilder why = new StringBuilder();
            for (ReplicaHandle h : replicas) {
                why.append(why.isEmpty() ? "" : "; ")
                        .append("replica ")
                        .append(h.index)
                        .append(": ")
                        .append(h.engine.failureMessage());
            }
            throw new IllegalStateException("every replica of deployment '" + name() + "' has failed (" + why
                    + "); update or restart the deployment to serve it again");
        }
        return healthy;
    }

    /** Replica {@code i}'s handle (for tests of what the routers read). */
    ReplicaHandle replica(int i) {
        return replicas.get(i);
    }

    /** Whether replica {@code replica}'s loop has stopped after a failure (it is routed nothing more). */
    public boolean failed(int replica) {
        return replicas.get(replica).engine.failed();
    }

    /** Why replica {@code replica}'s loop stopped, or null while it serves. */
    public String failure(int replica) {
        return replicas.get(replica).engine.failureMessage();
    }

    /**
     * A request of a failed replica that had streamed nothing yet (or whose caller had seen nothing of it, {@link
     * TokenSink#rewind}): routed again among the replicas still serving and run there from the start, its wait so
     * far counted. Returns false (it then ends with the failure) when
     * it is not one of this runtime's choices, was cancelled, or no replica could take it.
     */
    private boolean rescue(ReplicaHandle from, GenerationRequest request, TokenSink sink, long waitedNs) {
        return sink instanceof Choices.ChoiceSink c
                && c.owner().runtime == this
                && c.owner().move(c, from, request, waitedNs);
    }

    /**
     * The sequences of one request, started together or the first one first (see {@link #submit}). Each choice's
     * submission has its own sink, which knows the replica it counts on; a choice whose replica failed before its
     * caller saw anything moves to another ({@link #rescue}) with a new sink, its count in flight and the request's
     * prefill estimate with it. Written by the request's thread and by failing loops' threads, hence the atomics.
     */
    private static final class Choices implements LiveEngine.Handle {
        private final DeploymentRuntime runtime;
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
            LiveEngine.Handle h = on.engine.submit(request(i), new ChoiceSink(this, i, stagger, on));
            publish(i, on, h);
        }

        /**
         * Keeps {@code h}, choice i's handle on {@code on}, unless a rescue inside that submission (the replica failed
         * meanwhile) has moved the choice on already; then cancels it if the request was cancelled meanwhile.
         */
        private void publish(int i, ReplicaHandle on, LiveEngine.Handle h) {
            if (at.get(i) == on) {
                handles.set(i, h);
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

        /** A rescue of choice {@code c} off the failed replica {@code from} (see {@link #rescue}). */
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
                at.set(i, to);
                if (i == 0 && sinks.get(0) instanceof DeploymentShadow.Tracked t) {
                    // the shadow twin replays it where it is served (told first: it may end there at once)
                    t.movedTo(to.index);
                }
                try {
                    LiveEngine.Handle h = to.engine.submit(request, new ChoiceSink(this, i, stagger, to), waitedNs);
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
                    at.compareAndSet(i, to, from);
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
                    at.set(i, first);
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
                Completion.FinishReason reason = firstEnded == null || ran && cancelled
                        ? Completion.FinishReason.CANCELLED
                        : firstEnded.reason();
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
        private record ChoiceSink(Choices owner, int index, boolean stagger, ReplicaHandle replica)
                implements TokenSink {
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

    /**
     * max_ttft_ms on the wall clock: a simulated deployment's clock runs time_scale times faster, but the
     * server's own time (HTTP, JSON, scheduling threads) does not, so a sped-up deadline is never shorter than
     * {@link #MIN_WALL_TTFT_MS} (or the deadline itself): 60 s at 1000x would otherwise leave 60 ms, which a
     * busy machine misses on overhead alone.
     */
    private long wallTtftMs() {
        if (!settings.mode().equals("simulated")) {
            return settings.maxTtftMs();
        }
        long scaled = Math.max(1, Math.round(settings.maxTtftMs() / settings.timeScale()));
        return Math.max(scaled, Math.min(settings.maxTtftMs(), MIN_WALL_TTFT_MS));
    }

    static final long MIN_WALL_TTFT_MS = 2_000;

    @Override
    /**
     * Closes every replica, each whatever the others did (a replica on a GPU that hit a device error may fail to
     * close; the replicas on the other GPUs must still free theirs), then throws the first failure, if any.
     */
    public void close() {
        RuntimeException first = null;
        for (ReplicaHandle h : replicas) {
            try {
                h.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
