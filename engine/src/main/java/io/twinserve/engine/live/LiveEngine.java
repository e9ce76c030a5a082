package io.twinserve.engine.live;

import io.twinserve.engine.backend.Backend;
import io.twinserve.engine.backend.ForwardBatch;
import io.twinserve.engine.model.LoraAdapter;
import io.twinserve.engine.model.ModelConfig;
import io.twinserve.engine.sample.Sampler;
import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.replica.PrefixKeys;
import io.twinserve.twin.replica.ReplicaCore;
import io.twinserve.twin.sched.Scheduler;
import io.twinserve.twin.sched.SchedulerConfig;
import io.twinserve.twin.sched.Sequence;
import io.twinserve.twin.sched.StepListener;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.locks.LockSupport;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The twin's scheduler, KV block manager and adapter cache on the wall clock, with a backend as the step
 * executor: requests are admitted, batched, preempted and finished by the very code the twin simulates;
 * adapters move from storage into host memory and into the backend's slots for real when the adapter
 * cache says so; tokens go to each request's sink as steps complete. One thread runs the loop. An
 * adapter that fails to load ends only the requests that need it.
 */
public final class LiveEngine implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(LiveEngine.class);
  private static final long IDLE_PARK_NS = 50_000_000L;

  /** Counters of what the loop did. */
  public record Stats(long steps, long promptTokensComputed, long generatedTokens, long preemptions,
      long adapterStorageLoads, long adapterSlotLoads, long adapterLoadNs, long busyNs, long finished,
      long timedOut, long failed) {}

  private final Backend backend;
  private final ModelConfig model;
  private final LiveConfig config;
  private final Detokenizer detokenizer;
  private final Set<Integer> stopTokens;
  private final KvBlockManager kv;
  private final AdapterCache adapters;
  private final Scheduler scheduler;
  private final AdapterRegistry registry;
  private final AdapterTiers tiers;
  private final SchedulerConfig schedulerConfig;
  private final StepObserver observer;
  private final ConcurrentLinkedQueue<Live> submitted = new ConcurrentLinkedQueue<>();
  private final ConcurrentLinkedQueue<Live> cancels = new ConcurrentLinkedQueue<>();
  private final Map<Long, Live> live = new HashMap<>();
  private final List<Live> awaitingFirstToken = new ArrayList<>();
  private final ForwardBatch batch = new ForwardBatch();
  private final Listener listener = new Listener();
  private final long startNs = System.nanoTime();
  private final Thread thread;
  private float[] logits = new float[0];
  private int[] blocks = new int[16];
  private volatile boolean closing;
  private volatile Throwable failure;
  private long nextId;
  // counters (written by the loop thread only)
  private volatile Stats stats = new Stats(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  private long steps;
  private long promptComputed;
  private long generated;
  private long busyNs;
  private long finished;
  private long timedOut;
  private long failed;

  /** A request inside the loop. */
  private static final class Live {
    final GenerationRequest request;
    final TokenSink sink;
    final Sampler sampler;
    final Detokenizer.Stream text;
    final StopMatcher stop;
    final long arrivalNs;
    final int adapter;
    Sequence sequence;
    int[] tokens;
    int length;
    String pendingText = "";
    int pendingToken = -1;
    Completion.FinishReason reason;

    Live(GenerationRequest request, TokenSink sink, Detokenizer detokenizer, long arrivalNs, int adapter) {
      this.request = request;
      this.adapter = adapter;
      this.sink = sink;
      this.sampler = new Sampler(request.sampling());
      this.text = detokenizer.open();
      this.stop = new StopMatcher(request.sampling().stopStrings());
      this.arrivalNs = arrivalNs;
      this.tokens = new int[request.promptTokens().length + request.sampling().maxTokens()];
      System.arraycopy(request.promptTokens(), 0, tokens, 0, request.promptTokens().length);
      this.length = request.promptTokens().length;
    }
  }

  public LiveEngine(Backend backend, LiveConfig config, Detokenizer detokenizer, List<Integer> stopTokenIds) {
    this(backend, config, detokenizer, stopTokenIds, StepObserver.NONE);
  }

  /** @param observer sees every step's shape and wall time on the loop's thread */
  public LiveEngine(Backend backend, LiveConfig config, Detokenizer detokenizer, List<Integer> stopTokenIds,
      StepObserver observer) {
    this.backend = backend;
    this.observer = observer;
    this.model = backend.config();
    this.config = config;
    this.detokenizer = detokenizer;
    this.stopTokens = new HashSet<>(stopTokenIds);
    // real loads take real time inside the step; the cache only decides what moves where
    AdapterCache.LoadTimes instant = new AdapterCache.LoadTimes() {
      @Override
      public long fromCpuNs(int adapter) {
        return 0;
      }

      @Override
      public long fromStorageNs(int adapter) {
        return 0;
      }
    };
    SchedulerConfig sc = new SchedulerConfig(config.maxNumSeqs(), config.maxNumBatchedTokens(),
        config.chunkedPrefill(), backend.blockSize(), backend.kvCacheTokens(), config.prefixCaching(),
        backend.adapterSlots(), config.maxCpuAdapters(), backend.maxAdapterRank(), config.maxModelLen(), false);
    this.schedulerConfig = sc;
    // the twin's replica stack, every sequence visited every step (the backend needs each one's tokens)
    ReplicaCore core = new ReplicaCore(sc, instant, false);
    this.kv = core.kv();
    this.adapters = core.adapters();
    this.scheduler = core.scheduler();
    this.registry = new AdapterRegistry(backend.maxAdapterRank(), backend.adapterSlots());
    this.tiers = new AdapterTiers(backend, adapters, registry);
    this.thread = Thread.ofPlatform().name("twinserve-live-loop").daemon(true).start(this::loop);
  }

  /**
   * Makes a PEFT adapter directory servable under {@code name}; its weights are read from storage only
   * when a request first needs it. Thread-safe with respect to the loop.
   */
  public void registerAdapter(String name, Path dir) {
    registerAdapter(name, LoraAdapter.readRank(dir), (adapterName, base) -> LoraAdapter.load(adapterName, dir, base));
  }

  /**
   * Makes an adapter of {@code rank} servable under {@code name}; {@code loader} brings it into host
   * memory when the adapter cache first needs it there (and again after eviction). A name unregistered
   * before may be registered again: it is then a new adapter to the caches.
   */
  public void registerAdapter(String name, int rank, AdapterLoader loader) {
    registry.register(name, rank, loader);
  }

  /**
   * Stops serving {@code name} (vLLM's {@code /v1/unload_lora_adapter}): later requests for it are
   * refused, requests already submitted finish, and its copies leave the GPU slots and the host tier as
   * the adapter cache evicts them.
   */
  public void unregisterAdapter(String name) {
    registry.unregister(name);
  }

  /** The names currently registered, in registration order. */
  public List<String> adapterNames() {
    return registry.names();
  }

  /** Queues a request; its tokens and its end go to {@code sink} on the loop's thread. */
  /** A submitted request, which its caller may cancel. */
  public interface Handle {
    /**
     * Ends the request where it is (waiting, running, or between steps) and frees its KV blocks and its
     * adapter reference; its sink hears {@link Completion.FinishReason#CANCELLED}. Nothing happens if it
     * has ended already. Thread-safe.
     */
    void cancel();
  }

  public Handle submit(GenerationRequest request, TokenSink sink) {
    if (failure != null) {
      throw new IllegalStateException(failureMessage(), failure);
    }
    if (closing) {
      throw new IllegalStateException("the live loop is shutting down");
    }
    int prompt = request.promptTokens().length;
    int total = prompt + request.sampling().maxTokens();
    if (total > config.maxModelLen()) {
      throw new IllegalArgumentException("prompt (" + prompt + " tokens) + max_tokens ("
          + request.sampling().maxTokens() + ") = " + total + " exceeds max_model_len " + config.maxModelLen());
    }
    // the twin's admission rule: a request the whole KV cache cannot hold would preempt itself forever
    if (!scheduler.admissible(prompt, request.sampling().maxTokens())) {
      long blocksNeeded = Math.max((total - 1L + backend.blockSize() - 1) / backend.blockSize(),
          ((long) prompt + backend.blockSize() - 1) / backend.blockSize() + 1);
      throw new IllegalArgumentException("the request needs " + blocksNeeded * backend.blockSize()
          + " KV tokens but kv_cache_len is " + backend.kvCacheTokens());
    }
    for (int id : request.promptTokens()) {
      if (id < 0 || id >= model.vocabSize()) {
        throw new IllegalArgumentException("prompt token id " + id + " is outside the vocabulary of " + model.vocabSize());
      }
    }
    // the registration is fixed now: unregistering the name later does not touch this request
    int adapter = request.adapter() == null ? -1 : registry.indexOf(request.adapter());
    Live l = new Live(request, sink, detokenizer, now(), adapter);
    submitted.add(l);
    if (failure != null) {
      // the loop failed between the check above and the add: it will not drain the queue again
      failSubmitted();
    }
    LockSupport.unpark(thread);
    return () -> {
      cancels.add(l);
      LockSupport.unpark(thread);
    };
  }

  /** The counters as of the last step, or of the last request's end: a sink told of an end sees it counted. */
  public Stats stats() {
    return stats;
  }

  /**
   * The limits the loop's scheduler runs with, as the twin's {@link SchedulerConfig}: compare it with a
   * simulated replica's to be sure both schedule alike.
   */
  public SchedulerConfig schedulerConfig() {
    return schedulerConfig;
  }

  private long now() {
    return System.nanoTime() - startNs;
  }

  private void loop() {
    while (true) {
      try {
        boolean idle = admitSubmitted();
        cancelRequested();
        expireDeadlines();
        long now = now();
        if (scheduler.plan(now) && scheduler.hasWork()) {
          runStep();
          continue;
        }
        if (closing && idle && scheduler.isIdle()) {
          return;
        }
        long park = IDLE_PARK_NS;
        for (Live l : awaitingFirstToken) {
          park = Math.min(park, Math.max(1, l.sequence.deadlineNs() - now));
        }
        if (System.nanoTime() - residencyAtNs > RESIDENCY_EVERY_NS) {
          publishStats();
        }
        LockSupport.parkNanos(park);
      } catch (RuntimeException | Error e) {
        // the scheduler's state is not trustworthy after a failed step: end every request and stop, so
        // nothing waits forever and later submissions are refused with the cause
        LOG.error("the live loop failed; failing every request in it", e);
        failure = e;
        failAll();
        return;
      }
    }
  }

  /** Returns true when nothing new was waiting. */
  private boolean admitSubmitted() {
    boolean none = true;
    for (Live l; (l = submitted.poll()) != null; ) {
      none = false;
      adapters.ensureAdapters(registry.size());
      int rank = l.adapter < 0 ? 0 : registry.get(l.adapter).rank();
      long id = nextId++;
      l.sequence = new Sequence(id, id, l.arrivalNs, l.adapter, rank, l.length, l.request.sampling().maxTokens(),
          blockHashes(l.request.promptTokens(), l.adapter));
      if (l.request.maxTtftMs() > 0) {
        l.sequence.deadlineNs(l.arrivalNs + l.request.maxTtftMs() * 1_000_000L);
        awaitingFirstToken.add(l);
      }
      live.put(id, l);
      scheduler.enqueue(l.sequence);
    }
    return none;
  }

  private void expireDeadlines() {
    if (awaitingFirstToken.isEmpty()) {
      return;
    }
    long now = now();
    for (int i = awaitingFirstToken.size() - 1; i >= 0; i--) {
      Live l = awaitingFirstToken.get(i);
      if (l.sequence.firstTokenNs() >= 0 || l.sequence.finishNs() >= 0) {
        awaitingFirstToken.remove(i);
      } else if (now > l.sequence.deadlineNs() && scheduler.expire(l.sequence, now, listener)) {
        awaitingFirstToken.remove(i);
      }
    }
  }

  private void runStep() {
    long start = System.nanoTime();
    long loadsBefore = tiers.loadNs;
    tiers.load(this::failAdapter);
    List<Sequence> seqs = scheduler.batch();
    batch.clear();
    batch.stepShape(scheduler.shape());
    for (Sequence s : seqs) {
      Live l = live.get(s.requestId());
      KvBlockManager.BlockTable table = s.blockTable();
      if (blocks.length < table.size()) {
        blocks = new int[Math.max(table.size(), blocks.length * 2)];
      }
      for (int i = 0; i < table.size(); i++) {
        blocks[i] = table.get(i);
      }
      batch.add(l.tokens, s.computedTokens(), s.chunkTokens(), s.computedTokens(), adapters.slotOf(s.adapter()),
          blocks, table.size(), s.samplesThisStep());
      if (!s.samplesThisStep() || s.generated() == 0) {
        promptComputed += s.chunkTokens();
      }
    }
    int vocab = model.vocabSize();
    int rows = batch.sequences();
    if (logits.length < rows * vocab) {
      logits = new float[rows * vocab];
    }
    if (rows > 0) {
      // a batch whose every member needed an adapter that failed to load has nothing left to run
      backend.forward(batch, logits);
    }
    for (int i = 0; i < seqs.size(); i++) {
      Sequence s = seqs.get(i);
      int row = batch.logitRow(i);
      if (row < 0) {
        continue;
      }
      sample(live.get(s.requestId()), s, row * vocab, vocab);
    }
    long stepNs = System.nanoTime() - start;
    busyNs += stepNs;
    steps++;
    observer.onStep(scheduler.shape(), stepNs, tiers.loadNs - loadsBefore);
    scheduler.complete(now(), listener);
    publishStats();
  }

  private void sample(Live l, Sequence s, int offset, int vocab) {
    int token = l.sampler.sample(logits, offset, vocab);
    l.tokens[l.length++] = token;
    int count = s.generated() + 1;
    var params = l.request.sampling();
    boolean stopToken = (!params.ignoreEos() && stopTokens.contains(token)) || params.stopTokenIds().contains(token);
    String text = stopToken ? "" : l.text.next(token);
    String released = l.stop.offer(text);
    l.pendingToken = token;
    l.pendingText = released;
    if (stopToken || l.stop.stopped()) {
      l.reason = Completion.FinishReason.STOP;
      s.endAfter(count);
    } else if (count >= params.maxTokens()) {
      l.reason = Completion.FinishReason.LENGTH;
      l.pendingText = released + l.stop.flush();
    }
  }

  /** Ends the requests whose callers cancelled them, between steps. */
  private void cancelRequested() {
    if (cancels.isEmpty()) {
      return;
    }
    long now = now();
    List<Live> notYetAdmitted = new ArrayList<>();
    for (Live l; (l = cancels.poll()) != null; ) {
      if (l.sequence == null) {
        // submitted after this turn's admissions: it is admitted, then cancelled, next turn
        notYetAdmitted.add(l);
        continue;
      }
      if (live.get(l.sequence.requestId()) != l) {
        continue;
      }
      Sequence s = l.sequence;
      scheduler.abort(s, now);
      live.remove(s.requestId());
      awaitingFirstToken.remove(l);
      publishStats();
      int prompt = l.request.promptTokens().length;
      l.sink.onFinished(new Completion(Completion.FinishReason.CANCELLED, prompt, l.length - prompt, 0,
          s.preemptions(), s.firstTokenNs() < 0 ? -1 : s.firstTokenNs() - l.arrivalNs, now - l.arrivalNs,
          l.stop.text(), java.util.Arrays.copyOfRange(l.tokens, prompt, l.length)));
    }
    cancels.addAll(notYetAdmitted);
  }

  /** Ends every running request of adapter {@code a} with an error, taking it out of the planned step. */
  private void failAdapter(int a, String message) {
    long now = now();
    for (Sequence s : scheduler.running()) {
      if (s.adapter() != a) {
        continue;
      }
      scheduler.abort(s, now);
      Live l = live.remove(s.requestId());
      awaitingFirstToken.remove(l);
      failed++;
      publishStats();
      int prompt = l.request.promptTokens().length;
      l.sink.onFinished(new Completion(Completion.FinishReason.ERROR, prompt, l.length - prompt, 0,
          s.preemptions(), s.firstTokenNs() < 0 ? -1 : s.firstTokenNs() - l.arrivalNs, now - l.arrivalNs,
          l.stop.text(), java.util.Arrays.copyOfRange(l.tokens, prompt, l.length), message));
    }
  }

  private long[] blockHashes(int[] prompt, int adapter) {
    // chained hashes of full blocks, seeded by the adapter: K/V depend on the adapter's k and v projections
    return PrefixKeys.ofTokens(prompt, backend.blockSize(), adapter);
  }

  private void publishStats() {
    stats = new Stats(steps, promptComputed, generated, scheduler.preemptions(), tiers.storageLoads,
        tiers.slotLoads, tiers.loadNs, busyNs, finished, timedOut, failed);
    long now = System.nanoTime();
    if (now - residencyAtNs > RESIDENCY_EVERY_NS) {
      residencyAtNs = now;
      List<String>[] names = tiers.residentNames();
      residency = new Residency((int) scheduler.waitingCount(), scheduler.runningCount(), List.copyOf(names[0]),
          List.copyOf(names[1]));
    }
  }

  /**
   * What the loop holds, refreshed at most every 100 ms: requests waiting and running, and the adapters in
   * the backend's slots and in host memory (by name).
   */
  public record Residency(int waiting, int running, List<String> inSlots, List<String> inHost) {}

  private static final long RESIDENCY_EVERY_NS = 100_000_000L;
  private long residencyAtNs;
  private volatile Residency residency = new Residency(0, 0, List.of(), List.of());

  public Residency residency() {
    return residency;
  }

  private void failAll() {
    String message = failureMessage();
    for (Live l : live.values()) {
      l.sink.onFinished(new Completion(Completion.FinishReason.ERROR, l.request.promptTokens().length,
          l.length - l.request.promptTokens().length, 0, 0, -1, now() - l.arrivalNs, l.stop.text(), new int[0],
          message));
    }
    live.clear();
    awaitingFirstToken.clear();
    failSubmitted();
  }

  private void failSubmitted() {
    String message = failureMessage();
    for (Live l; (l = submitted.poll()) != null; ) {
      l.sink.onFinished(new Completion(Completion.FinishReason.ERROR, l.request.promptTokens().length, 0, 0, 0, -1,
          0, "", new int[0], message));
    }
  }

  private String failureMessage() {
    return "the live loop has stopped after a failure: " + failure.getMessage();
  }

  /** Streams tokens and ends requests as the scheduler completes steps. */
  private final class Listener implements StepListener {
    @Override
    public void onFirstToken(Sequence s, long nowNs) {
      emit(s);
    }

    @Override
    public void onToken(Sequence s, long gapNs) {
      emit(s);
    }

    private void emit(Sequence s) {
      Live l = live.get(s.requestId());
      generated++;
      l.sink.onToken(l.pendingToken, l.pendingText);
    }

    @Override
    public void onTimedOut(Sequence s, long nowNs) {
      Live l = live.remove(s.requestId());
      timedOut++;
      publishStats();
      l.sink.onFinished(new Completion(Completion.FinishReason.TIMEOUT, s.promptTokens(), 0, 0, s.preemptions(), -1,
          nowNs - s.arrivalNs(), "", new int[0]));
    }

    @Override
    public void onFinished(Sequence s, long nowNs) {
      Live l = live.remove(s.requestId());
      finished++;
      // counters first, so that whoever hears of the end reads them up to date
      publishStats();
      Completion.FinishReason reason = l.reason != null ? l.reason : Completion.FinishReason.LENGTH;
      int prompt = l.request.promptTokens().length;
      l.sink.onFinished(new Completion(reason, prompt, s.generated(), (int) Math.min(prompt, s.cachedTokens()),
          s.preemptions(), s.firstTokenNs() - s.arrivalNs(), nowNs - s.arrivalNs(), l.stop.text(),
          java.util.Arrays.copyOfRange(l.tokens, prompt, l.length)));
    }
  }

  /** Stops taking requests, finishes those in flight, and stops the loop. */
  @Override
  public void close() {
    closing = true;
    LockSupport.unpark(thread);
    try {
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
