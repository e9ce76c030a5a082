package io.twinserve.api.server.inference;

import io.twinserve.api.db.generated.tables.records.AdaptersRecord;
import io.twinserve.engine.backend.EngineBackend;
import io.twinserve.engine.backend.sim.SimulatedBackend;
import io.twinserve.engine.chat.ChatTemplate;
import io.twinserve.engine.live.GenerationRequest;
import io.twinserve.engine.live.LiveEngine;
import io.twinserve.engine.live.TokenSink;
import io.twinserve.engine.model.DType;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.sample.SamplingParams;
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
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A deployment being served by this server: its replicas (each a live loop over a backend: the CPU
 * engine in live mode, the twin's timing in simulated mode), the router that picks one for each request
 * (the twin's, from {@code placement.router}), the codec for its text, its adapters and, with shadow mode, its
 * twin ({@link DeploymentShadow}).
 *
 * <p>Why it is long: it builds both kinds of deployment (live and simulated), keeps the adapter registry its
 * replicas share, and routes requests among the replicas still serving, with the rescue of a failed replica's
 * requests and the installation of its restarted successor; a request's choices and their accounting are {@link
 * Choices}, and the waiting and building of restarts {@link ReplicaRestarts}.
 */
public final class DeploymentRuntime implements AutoCloseable {
    /** A deployment's adapter: a PEFT directory, or profile-only with a rank (simulated mode). */
    public record AdapterDef(String name, Path path, int rank) {
        public static AdapterDef of(AdaptersRecord a) {
            return new AdapterDef(a.getName(), a.getPath() == null ? null : Path.of(a.getPath()), a.getRank());
        }

        /** Its rank: the one registered, or its PEFT directory's {@code r} (thrown when that cannot be read). */
        public int knownRank() {
            return rank > 0 || path == null ? rank : LoraAdapter.readRank(path);
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
            FaultSpec fault,
            RestartSpec restart) {
        public Settings {
            fault = fault == null ? FaultSpec.NONE : fault;
            restart = restart == null ? RestartSpec.DEFAULT : restart;
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
    /** Replica i's handle at index i; a restarted replica's replaces its failed one ({@link #install}). */
    final List<ReplicaHandle> replicas;
    /** Restarts failed replicas ({@link RestartSpec}). */
    private final ReplicaRestarts restarts;
    /** Set once {@link #close} began: no restarted replica is installed after it. */
    private volatile boolean closed;
    /** The runtime that replaced this one ({@link #replaceWith}), or null. */
    private volatile DeploymentRuntime successor;

    /** The successor being built while this runtime has drained for it ({@link #drainFor}), or null. */
    private volatile CompletableFuture<DeploymentRuntime> handover;

    /** How long a request that reaches a drained runtime waits for its successor (a model's upload to a GPU). */
    static final long HANDOVER_WAIT_S = 600;

    private final AtomicInteger awaitingHandover = new AtomicInteger();

    final Router router;
    /** Whether the router reads prefix caches (cache_aware on a replica with prefix caching). */
    final boolean routesByPrefix;

    final int blockSize;
    /** Adapter names by the index routers know them by: append-only, so an index never changes meaning. */
    private final List<String> adapterIds;

    private final Map<String, AdapterDef> adapters = new ConcurrentHashMap<>();
    /** Each adapter's rank, for the shadow twin (it prices LoRA by rank). */
    private final Map<String, Integer> adapterRanks = new ConcurrentHashMap<>();

    private final int maxModelLen;
    /**
     * Whether its replicas hold a device another runtime needs freed before it starts (CUDA: each fills most of its
     * GPU), so that closing it must finish before anything else is built there.
     */
    private volatile boolean holdsDevice;

    public boolean holdsDevice() {
        return holdsDevice;
    }

    /** The shadow twin, or null. */
    private volatile DeploymentShadow shadow;

    private final List<String> skipped = new CopyOnWriteArrayList<>();

    DeploymentRuntime(
            Settings settings,
            TextCodec codec,
            List<ReplicaHandle> replicas,
            ReplicaRestarts.Builder rebuild,
            List<String> adapterIds,
            List<AdapterDef> adapters,
            int maxModelLen,
            SessionStore sessions) {
        this.settings = settings;
        this.maxModelLen = maxModelLen;
        this.codec = codec;
        this.replicas = new CopyOnWriteArrayList<>(replicas);
        this.restarts = new ReplicaRestarts(this, settings.restart(), rebuild, replicas.size());
        this.adapterIds = adapterIds;
        this.router = Router.of(settings.router(), sessions);
        var scheduler = this.replicas.get(0).engine.schedulerConfig();
        this.blockSize = scheduler.blockSize();
        this.routesByPrefix = settings.router() instanceof RouterSpec.CacheAware && scheduler.prefixCaching();
        for (ReplicaHandle h : this.replicas) {
            hook(h);
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
        ReplicaRestarts.Builder build = (i, run) -> new ReplicaHandle(
                i,
                LiveReplicas.model(
                        modelDir, settings, codec.detokenizer(), i, s.fault().observer(i, run)),
                adapterIds,
                LIVE_PRICES);
        try {
            for (int i = 0; i < s.replicas(); i++) {
                ReplicaHandle h = build.build(i, 0);
                replicas.add(h);
                modelLen = h.engine.schedulerConfig().maxModelLen();
            }
            rt = new DeploymentRuntime(s, codec, replicas, build, adapterIds, adapters, modelLen, sessions);
            rt.holdsDevice = kind == EngineBackend.Kind.CUDA;
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
        ReplicaRestarts.Builder build = (i, run) -> new ReplicaHandle(
                i,
                LiveReplicas.simulated(
                        resolved, s.timeScale(), codec.detokenizer(), s.fault().observer(i, run)),
                adapterIds,
                prices);
        try {
            for (int i = 0; i < s.replicas(); i++) {
                ReplicaHandle h = build.build(i, 0);
                replicas.add(h);
                modelLen = h.engine.schedulerConfig().maxModelLen();
            }
            DeploymentRuntime rt =
                    new DeploymentRuntime(s, codec, replicas, build, adapterIds, adapters, modelLen, sessions);
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
        if (a.rank() > 0 || a.path() != null) {
            try {
                adapterRanks.put(a.name(), a.knownRank());
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
        awaitingHandover.incrementAndGet();
        try {
            return handover.get(HANDOVER_WAIT_S, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            throw new IllegalStateException(
                    "deployment '" + name() + "' could not start its new configuration ("
                            + (cause.getMessage() == null ? cause.toString() : cause.getMessage())
                            + "); it is started again with its configuration of before",
                    cause);
        } catch (TimeoutException e) {
            throw new IllegalStateException("deployment '" + name() + "' is restarting; its new configuration was not"
                    + " serving within " + HANDOVER_WAIT_S + " s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while deployment '" + name() + "' restarts");
        } finally {
            awaitingHandover.decrementAndGet();
        }
    }

    /**
     * Requests that reached this runtime after it drained for a successor still being built, waiting for it
     * ({@link #drainFor}). Each waits on a thread of its own (the inference endpoints run on the blocking
     * executor), never on an event loop.
     */
    public int awaitingSuccessor() {
        return awaitingHandover.get();
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
    List<ReplicaHandle> routable() {
        // one snapshot: a restart may put a replica in place meanwhile
        List<ReplicaHandle> all = List.copyOf(replicas);
        List<ReplicaHandle> healthy = null;
        for (int i = 0; i < all.size(); i++) {
            if (all.get(i).engine.failed()) {
                if (healthy == null) {
                    healthy = new ArrayList<>(all.subList(0, i));
                }
            } else if (healthy != null) {
                healthy.add(all.get(i));
            }
        }
        if (healthy == null) {
            return all;
        }
        if (healthy.isEmpty()) {
            StringBuilder why = new StringBuilder();
            boolean restarting = false;
            for (ReplicaHandle h : all) {
                boolean again = restarts.restarting(h);
                restarting |= again;
                why.append(why.isEmpty() ? "" : "; ")
                        .append("replica ")
                        .append(h.index)
                        .append(again ? " (restarting)" : "")
                        .append(": ")
                        .append(h.engine.failureMessage());
            }
            throw new IllegalStateException("every replica of deployment '" + name() + "' has failed (" + why
                    + (restarting
                            ? "); retry once a restart has brought a replica back"
                            : "); update or restart the deployment to serve it again"));
        }
        return healthy;
    }

    /** Replica {@code i}'s handle (for tests of what the routers read). */
    ReplicaHandle replica(int i) {
        return replicas.get(i);
    }

    /**
     * Whether replica {@code replica}'s loop has stopped after a failure (it is routed nothing more until a restart
     * replaces it).
     */
    public boolean failed(int replica) {
        return replicas.get(replica).engine.failed();
    }

    /** Why replica {@code replica}'s loop stopped (and why its last restart failed, if one did), or null while it serves. */
    public String failure(int replica) {
        return view(replica).error();
    }

    /** Replica {@code replica}'s state: serving, restarting (failed, a restart waiting or under way) or failed. */
    public String state(int replica) {
        return view(replica).state();
    }

    /** Restarts of replica {@code replica} begun so far ({@link RestartSpec}). */
    public int restarts(int replica) {
        return restarts.restarts(replica);
    }

    /**
     * Replica {@code replica} as the API shows it, every figure read from one run of it (a restart may replace it
     * meanwhile).
     *
     * @param state serving, restarting or failed ({@link #state})
     * @param error why it stopped and why its last restart failed, or null while it serves
     */
    public record ReplicaView(
            String state,
            String error,
            int restarts,
            int inFlight,
            LiveEngine.Stats stats,
            LiveEngine.Residency residency) {}

    /** Replica {@code replica} now, from one run of it. */
    public ReplicaView view(int replica) {
        ReplicaHandle h = replicas.get(replica);
        String state;
        String error = null;
        if (!h.engine.failed()) {
            state = "serving";
        } else {
            state = restarts.restarting(h) ? "restarting" : "failed";
            String restart = restarts.error(replica);
            error = restart == null ? h.engine.failureMessage() : h.engine.failureMessage() + "; " + restart;
        }
        return new ReplicaView(
                state, error, restarts.restarts(replica), h.inFlight.get(), h.engine.stats(), h.engine.residency());
    }

    boolean isClosed() {
        return closed;
    }

    /** Where a replica's failed requests go, and what happens once they have gone (its restart). */
    private void hook(ReplicaHandle h) {
        h.engine.onFailure((request, sink, waitedNs) -> rescue(h, request, sink, waitedNs));
        h.engine.whenFailed(() -> restarts.failed(h));
    }

    /**
     * Puts a restarted replica in its failed predecessor's place, with every adapter of the deployment registered
     * on it, and routes to it from now on; false (it is not installed) when this runtime has closed meanwhile. Under
     * the runtime's lock, so that an adapter added or removed meanwhile is registered on it or not, as on the others.
     *
     * @throws IllegalStateException when an adapter the other replicas serve cannot be registered on it (its
     *     directory gone, say): the replicas must serve the same adapters, so the restart has failed
     */
    synchronized boolean install(ReplicaHandle fresh) {
        if (closed) {
            return false;
        }
        for (AdapterDef a : adapters.values()) {
            try {
                register(fresh, a);
            } catch (RuntimeException e) {
                throw new IllegalStateException(
                        "adapter '" + a.name() + "' could not be registered on it: " + e.getMessage(), e);
            }
        }
        hook(fresh);
        replicas.set(fresh.index, fresh);
        return true;
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
        synchronized (this) {
            closed = true;
        }
        // outside the lock: a restart finishing its build waits for it in install, then closes what it built
        restarts.stop();
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
