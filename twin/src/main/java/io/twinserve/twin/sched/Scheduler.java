package io.twinserve.twin.sched;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.perf.StepShape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Continuous batching as vLLM's V1 scheduler does it, one step at a time.
 *
 * <p>Each step first serves the running sequences in admission order (a decode token each, or the next
 * prefill chunk) within the token budget; when a sequence needs a KV block and none is free, the newest
 * running sequence is preempted (its blocks freed, to be recomputed later) until the block fits. Then,
 * if nothing was preempted, waiting requests are admitted first come, first served within
 * {@code max_num_seqs} and the token budget, with the adapter rule: a request whose adapter is not in a
 * GPU slot waits while every slot holds an adapter in use, and later requests of resident adapters may
 * pass it. Admission stops at the first request whose KV blocks do not fit.
 *
 * <p>Speed without approximation: a decoding sequence that runs every step gains exactly one token per
 * step, so while the budget covers every running sequence and the free blocks cover this step's needs
 * (a "steady" step), decoding sequences are not visited one by one. They are "lazy": their token counts
 * are a base plus the number of steady steps since they joined, their next block boundary and their
 * finish are events in two heaps keyed by step, and the step's shape adds them as one aggregate. Any
 * other step first materialises every lazy sequence and then runs the plain algorithm, so the two paths
 * choose the same batches (tests compare them). Lazy mode is used only with a listener that takes
 * tokens in bulk.
 *
 * <p>Why it is long: it holds two jobs, the vLLM policy and the twin-only bulk accounting of lazy decoders
 * and quiet stretches, which share the running list and the step's shape. The split into {@code Scheduler}
 * and {@code SteadyDecodes} over one {@code SequenceList} is planned in REDESIGN.md (issue 18); until then
 * the equivalence tests (lazy against eager, stretches against steps) guard the two against each other.
 */
public final class Scheduler {
  private final SchedulerConfig config;
  private final KvBlockManager kv;
  private final AdapterCache adapters;
  private final AdapterQueues waiting;
  private final RunningList running = new RunningList();
  // the running sequences that are not lazy, in running order (what a steady step visits)
  private Sequence eagerHead;
  private Sequence eagerTail;
  private long maxLazyOrder = -1;
  private final List<Sequence> batch = new ArrayList<>();
  private final StepShape shape = new StepShape();
  private final boolean lazyAllowed;
  // adapters of the planned step's visited members (batchAdapterList[0, marked)), flagged in batchAdapters;
  // a steady step's lazy decoders' adapters are those with lazyAdapterRefs > 0, never flagged here
  private boolean[] batchAdapters;
  private int[] batchAdapterList;
  private int marked;
  private long syncLoadNs;
  private long preemptions;
  private long cachedTokens;
  private long queriedTokens;
  private long nextAdapterReadyNs = Long.MAX_VALUE;
  private long stepStartNs = -1;
  private long planned;
  private boolean stepOpen;
  private long timeouts;
  // bumped whenever the waiting queues or the adapter slots' use change: a "nobody can be admitted"
  // answer stays true until then
  private long changes;
  private long noCandidateAt = -1;

  // lazy decoding sequences (see the class comment)
  private long steadySteps;
  private long lastSteadyEndNs = -1;
  private boolean steadyPlanned;
  private int lazyCount;
  private long lazyComputedSum;
  private int lazyAdapterSeqs;
  private int[] lazyAdapterRefs;
  private int lazyDistinctAdapters;
  private long lazyRankSum;
  private final StepWheel finishes = new StepWheel(1024, s -> s.lazyFinishStep);
  private final StepWheel boundaries;
  // Without prefix caching (and a counting KV cache) a full block needs no registering and blocks are
  // interchangeable, so lazy decoders' block boundaries are counted by step phase instead of kept per
  // sequence in the boundary wheel: every lazy decoder crosses one each blockSize steps, at its phase.
  // phaseCount[p]: lazy decoders of phase p; phaseAllocations[p]: steps of phase p whose boundary blocks
  // were allocated (a decoder is owed those since it joined, given to its table when it leaves lazy)
  private final boolean countedBoundaries;
  private final int[] phaseCount;
  private final long[] phaseAllocations;
  private long boundaryAllocatedStep = -1;
  // blockSize - 1 when it is a power of two (a mask instead of a division on every quiet step), else -1
  private final int phaseMask;
  private final List<Sequence> boundaryScratch = new ArrayList<>();
  private final List<Sequence> dueScratch = new ArrayList<>();
  private final List<Sequence> finished = new ArrayList<>();

  public Scheduler(SchedulerConfig config, KvBlockManager kv, AdapterCache adapters, int adapterCount) {
    this(config, kv, adapters, adapterCount, true);
  }

  /** @param lazyAllowed whether steady steps may skip visiting decoding sequences (false: always eager) */
  public Scheduler(SchedulerConfig config, KvBlockManager kv, AdapterCache adapters, int adapterCount,
      boolean lazyAllowed) {
    this.config = config;
    this.kv = kv;
    this.adapters = adapters;
    this.lazyAllowed = lazyAllowed;
    this.boundaries = new StepWheel(config.blockSize() + 1, s -> s.lazyBoundaryStep);
    this.countedBoundaries = kv.isCounting() && !config.prefixCaching();
    this.phaseCount = new int[countedBoundaries ? config.blockSize() : 0];
    this.phaseAllocations = new long[countedBoundaries ? config.blockSize() : 0];
    this.phaseMask = Integer.bitCount(config.blockSize()) == 1 ? config.blockSize() - 1 : -1;
    this.waiting = new AdapterQueues(adapterCount);
    this.batchAdapters = new boolean[Math.max(1, adapterCount)];
    this.lazyAdapterRefs = new int[Math.max(1, adapterCount)];
    shape.loraSlots = config.maxAdapters();
    this.batchAdapterList = new int[Math.max(1, config.maxAdapters())];
  }

  /**
   * Whether a request of these lengths can ever be served here: the one admission rule of the simulator
   * and the live engine. It must fit {@code max_model_len}, and the whole KV cache must hold it by its last
   * computed token (prompt + output - 1) and hold its prompt with a block to spare for its first decode;
   * otherwise it would preempt itself once the cache is full and never finish.
   */
  public boolean admissible(int promptTokens, int outputTokens) {
    return admissible(promptTokens, outputTokens, config.maxModelLen(), config.blockSize(), kv.totalBlocks());
  }

  /** {@link #admissible(int, int)} for a replica of these limits, before one is built. */
  public static boolean admissible(int promptTokens, int outputTokens, int maxModelLen, int blockSize,
      long kvBlocks) {
    long total = (long) promptTokens + outputTokens;
    return total <= maxModelLen
        && ((long) promptTokens + blockSize - 1) / blockSize + 1 <= kvBlocks
        && (total - 1 + blockSize - 1) / blockSize <= kvBlocks;
  }

  /** A request arrives and waits. */
  public void enqueue(Sequence s) {
    if (s.adapter >= batchAdapters.length) {
      int n = Math.max(s.adapter + 1, batchAdapters.length * 2);
      batchAdapters = Arrays.copyOf(batchAdapters, n);
      lazyAdapterRefs = Arrays.copyOf(lazyAdapterRefs, n);
    }
    waiting.addLast(s);
    changes++;
  }

  public long waitingCount() {
    return waiting.size();
  }

  public int runningCount() {
    return running.size();
  }

  public boolean isIdle() {
    return running.size() == 0 && waiting.isEmpty();
  }

  public long preemptions() {
    return preemptions;
  }

  public long cachedPromptTokens() {
    return cachedTokens;
  }

  public long queriedPromptTokens() {
    return queriedTokens;
  }

  /** The time an adapter being loaded in the background becomes ready (async loads), or Long.MAX_VALUE. */
  public long nextAdapterReadyNs() {
    return nextAdapterReadyNs;
  }

  public StepShape shape() {
    return shape;
  }

  /** The sequences of the planned step visited one by one (lazy decoders are counted in the shape only). */
  public List<Sequence> batch() {
    return batch;
  }

  /** Whether the planned step runs anything. */
  public boolean hasWork() {
    return shape.sequences > 0;
  }

  /** Adapter load time that stalls this step (sync loads), in ns. */
  public long stallNs() {
    return syncLoadNs;
  }

  /**
   * Chooses the sequences of the step that starts at {@code nowNs}. Returns false when there is nothing
   * to run and nothing to wait for.
   */
  public boolean plan(long nowNs) {
    stepStartNs = nowNs;
    planned++;
    shape.clear();
    batch.clear();
    syncLoadNs = 0;
    nextAdapterReadyNs = Long.MAX_VALUE;
    steadyPlanned = lazyCount > 0 && steadyFeasible(nowNs);
    if (steadyPlanned && countedBoundaries) {
      allocateCountedBoundaries();
    } else if (steadyPlanned) {
      // lazy decoders at a block boundary filled a block last step: cached now, as a visited one's was then
      for (int i = 0; i < boundaryScratch.size(); i++) {
        Sequence s = boundaryScratch.get(i);
        registerFull(s, s.lazyComputed0 + (steadySteps - s.lazyBaseStep));
      }
    } else {
      materialize();
    }
    int budget = config.maxNumBatchedTokens();
    marked = 0;
    boolean preempted = false;
    if (steadyPlanned) {
      shape.distinctAdapters = lazyDistinctAdapters;
      shape.adapterRankSum = lazyRankSum;
      budget -= lazyCount;
      // sequences before the last lazy one in running order get all they ask for (checked); the rest
      // share what is left in order, exactly as the plain loop would give it to them
      for (Sequence s = eagerHead; s != null && budget > 0; s = s.nextEager) {
        int n = scheduleRunning(s, budget, nowNs);
        if (n > 0) {
          budget -= n;
          addToBatch(s, n, takeStart(s));
        }
      }
      for (int i = 0; i < boundaryScratch.size(); i++) {
        Sequence s = boundaryScratch.get(i);
        kv.allocate(1, s.blocks);
        s.lazyBoundaryStep += config.blockSize();
        boundaries.add(s, steadySteps);
      }
      boundaryScratch.clear();
      shape.sequences += lazyCount;
      shape.newTokens += lazyCount;
      shape.decodeSequences += lazyCount;
      shape.decodeContextTokens += lazyComputedSum + lazyCount;
      shape.kvReadTokens += lazyComputedSum + lazyCount;
      shape.sampledTokens += lazyCount;
      shape.adapterTokens += lazyAdapterSeqs;
    } else {
      for (Sequence s = running.head; s != null && budget > 0; s = s.nextRunning) {
        if (!adapters.isReady(s.adapter, nowNs)) {
          nextAdapterReadyNs = Math.min(nextAdapterReadyNs, adapters.readyNs(s.adapter));
          continue;
        }
        int remaining = s.prefillTarget() - s.computed;
        if (!s.decoding && !config.chunkedPrefill() && remaining > budget) {
          continue;
        }
        int n = s.decoding ? 1 : Math.min(remaining, budget);
        int need = blocksFor(s.computed + n) - s.blocks.size();
        boolean selfPreempted = false;
        while (need > kv.freeBlocks()) {
          Sequence victim = running.tail;
          preempt(victim);
          preempted = true;
          if (victim == s) {
            selfPreempted = true;
            break;
          }
        }
        if (selfPreempted) {
          break;
        }
        if (need > 0) {
          kv.allocate(need, s.blocks);
        }
        budget -= n;
        addToBatch(s, n, takeStart(s));
      }
    }
    if (!preempted) {
      admit(budget, nowNs);
    }
    unmarkAdapters();
    countQueueAndSlots();
    stepOpen = shape.sequences > 0;
    return shape.sequences > 0 || nextAdapterReadyNs != Long.MAX_VALUE;
  }

  /**
   * Whether this step can run with lazy decoders: every running sequence gets all it asks for within the
   * budget, and the free blocks cover every block it needs. Collects the lazy decoders that cross a block
   * boundary this step into {@code boundaryScratch}.
   */
  private boolean steadyFeasible(long nowNs) {
    long budget = config.maxNumBatchedTokens() - (long) lazyCount;
    if (budget < 0) {
      return false;
    }
    long blocks = 0;
    for (Sequence s = eagerHead; s != null && budget > 0; s = s.nextEager) {
      if (!adapters.isReady(s.adapter, nowNs)) {
        continue;
      }
      int remaining = s.prefillTarget() - s.computed;
      int n;
      if (s.runningOrder < maxLazyOrder) {
        // ahead of some lazy decoder: the plain loop serves it before them, in full
        n = s.decoding ? 1 : remaining;
        if (n > budget) {
          return false;
        }
      } else {
        if (!s.decoding && !config.chunkedPrefill() && remaining > budget) {
          continue;
        }
        n = s.decoding ? 1 : (int) Math.min(remaining, budget);
      }
      budget -= n;
      // a request admitted while its adapter loaded in the background may hold more blocks than this chunk
      // needs (its first chunk got a larger budget): it needs none, and frees none for the others
      blocks += Math.max(0, blocksFor(s.computed + n) - s.blocks.size());
    }
    if (countedBoundaries) {
      blocks += dueBoundaryBlocks();
      return blocks <= kv.freeBlocks();
    }
    // (a sequence that finished while lazy leaves a stale entry there: takeDue drops it)
    boundaries.takeDue(steadySteps, boundaryScratch);
    blocks += boundaryScratch.size();
    if (blocks > kv.freeBlocks()) {
      // the step runs plain; materialize() is about to clear the wheels
      boundaryScratch.clear();
      return false;
    }
    return true;
  }

  /** Schedules a non-lazy running sequence in a steady step (its wish fits by construction). */
  private int scheduleRunning(Sequence s, int budget, long nowNs) {
    if (!adapters.isReady(s.adapter, nowNs)) {
      nextAdapterReadyNs = Math.min(nextAdapterReadyNs, adapters.readyNs(s.adapter));
      return 0;
    }
    int remaining = s.prefillTarget() - s.computed;
    if (!s.decoding && !config.chunkedPrefill() && remaining > budget) {
      return 0;
    }
    int n = s.decoding ? 1 : Math.min(remaining, budget);
    int need = blocksFor(s.computed + n) - s.blocks.size();
    if (need > 0) {
      kv.allocate(need, s.blocks);
    }
    return n;
  }

  /**
   * Puts the sequence's blocks that are full of computed tokens into the prefix cache under their keys,
   * generated tokens' blocks too (the next turn of a conversation repeats them), as vLLM does.
   */
  private void registerFull(Sequence s, long computed) {
    if (s.registeredBlocks < s.hashedBlocks) {
      int full = (int) Math.min(s.hashedBlocks, computed / config.blockSize());
      while (s.registeredBlocks < full) {
        kv.register(s.blocks.get(s.registeredBlocks), s.blockHashes[s.registeredBlocks]);
        s.registeredBlocks++;
      }
    }
  }

  private static boolean takeStart(Sequence s) {
    boolean starts = s.awaitingFirstChunk;
    s.awaitingFirstChunk = false;
    return starts;
  }

  /** Admits waiting requests first come, first served. */
  private void admit(int budget, long nowNs) {
    while (budget > 0 && running.size() < config.maxNumSeqs()) {
      Sequence s = nextCandidate();
      if (s == null) {
        break;
      }
      int target = s.prefillTarget();
      int hitBlocks = kv.cachedPrefix(s.blockHashes, Math.min(s.hashedBlocks, (target - 1) / config.blockSize()));
      int cached = hitBlocks * config.blockSize();
      int remaining = target - cached;
      if (!config.chunkedPrefill() && remaining > budget) {
        break;
      }
      int n = Math.min(remaining, budget);
      int fresh = blocksFor(cached + n) - hitBlocks;
      if (fresh + kv.unreferencedAmong(s.blockHashes, hitBlocks) > kv.freeBlocks()) {
        break;
      }
      waiting.removeHead(s);
      changes++;
      long load = adapters.acquire(s.adapter, nowNs);
      s.holdsAdapter = s.adapter >= 0;
      kv.takeCached(s.blockHashes, hitBlocks, s.blocks);
      kv.allocate(fresh, s.blocks);
      s.computed = cached;
      s.registeredBlocks = hitBlocks;
      s.cachedTokens += cached;
      cachedTokens += Math.min(cached, s.promptTokens);
      queriedTokens += s.promptTokens;
      if (s.firstScheduledNs < 0) {
        s.firstScheduledNs = nowNs;
      }
      running.addLast(s);
      eagerAddLast(s);
      // with background loads, wait for the slot even when another request's load of it is under way
      if (config.asyncAdapterLoads() && !adapters.isReady(s.adapter, nowNs)) {
        nextAdapterReadyNs = Math.min(nextAdapterReadyNs, adapters.readyNs(s.adapter));
        s.awaitingFirstChunk = true;
        continue;
      }
      syncLoadNs += load;
      budget -= n;
      addToBatch(s, n, true);
    }
  }

  /** Adds a sequence to the batch. */
  private void addToBatch(Sequence s, int n, boolean starts) {
    s.chunk = n;
    s.chunkStarts = starts;
    s.batchStep = planned;
    batch.add(s);
    addToShape(s, n, starts);
  }

  /** Adds a batch member to the step's shape, its adapter counted once (with the lazy ones' in a steady step). */
  private void addToShape(Sequence s, int n, boolean starts) {
    boolean samples = s.decoding || s.computed + n >= s.prefillTarget();
    shape.addSequence(n, s.computed, s.decoding, samples, starts, s.adapter >= 0);
    if (s.adapter >= 0 && !batchAdapters[s.adapter] && !(steadyPlanned && lazyAdapterRefs[s.adapter] > 0)) {
      batchAdapters[s.adapter] = true;
      if (marked == batchAdapterList.length) {
        batchAdapterList = Arrays.copyOf(batchAdapterList, marked * 2);
      }
      batchAdapterList[marked++] = s.adapter;
      shape.distinctAdapters++;
      shape.adapterRankSum += s.rank;
    }
  }

  private void unmarkAdapters() {
    for (int i = 0; i < marked; i++) {
      batchAdapters[batchAdapterList[i]] = false;
    }
    marked = 0;
  }

  /**
   * The earliest waiting request that may run: any adapter's when a GPU slot can take a new adapter,
   * otherwise only the base model's and those of adapters already in a slot.
   */
  private Sequence nextCandidate() {
    if (waiting.isEmpty() || noCandidateAt == changes) {
      return null;
    }
    if (adapters.gpuSlots() == 0 || adapters.hasReplaceableSlot()) {
      Sequence s = waiting.peekEarliest();
      if (s.adapter >= 0 && adapters.gpuSlots() == 0) {
        throw new IllegalStateException("request " + s.requestId + " uses an adapter but max_adapters is 0");
      }
      return s;
    }
    Sequence best = waiting.peek(-1);
    for (int slot = 0; slot < adapters.gpuSlots(); slot++) {
      int a = adapters.adapterInSlot(slot);
      if (a >= 0) {
        Sequence head = waiting.peek(a);
        if (head != null && (best == null || head.order < best.order)) {
          best = head;
        }
      }
    }
    if (best == null) {
      noCandidateAt = changes;
    }
    return best;
  }

  private void preempt(Sequence victim) {
    changes++;
    running.remove(victim);
    eagerRemove(victim);
    kv.free(victim.blocks);
    if (victim.holdsAdapter) {
      adapters.release(victim.adapter);
      victim.holdsAdapter = false;
    }
    victim.computed = 0;
    victim.decoding = false;
    victim.registeredBlocks = 0;
    victim.preemptions++;
    preemptions++;
    waiting.addFirst(victim);
  }

  /** Applies the planned step's tokens at {@code endNs}: samples, registers full blocks, finishes. */
  public void complete(long endNs, StepListener listener) {
    stepOpen = false;
    boolean bulk = listener.acceptsBulkTokens();
    long sameGapTokens = 0;
    finished.clear();
    for (int i = 0; i < batch.size(); i++) {
      Sequence s = batch.get(i);
      s.computed += s.chunk;
      if (!s.decoding) {
        registerFull(s, s.computed);
      }
      if (!s.decoding) {
        if (s.computed < s.prefillTarget()) {
          continue;
        }
        if (s.firstTokenNs < 0 && endNs > s.deadlineNs) {
          // its first token comes too late: the client has given up (408)
          s.timedOut = true;
          finish(s, endNs);
          continue;
        }
        s.decoding = true;
        s.generated++;
        if (s.firstTokenNs < 0) {
          s.firstTokenNs = endNs;
          listener.onFirstToken(s, endNs);
        } else {
          listener.onToken(s, endNs - s.lastTokenNs);
        }
      } else {
        s.generated++;
        if (bulk && s.lastTokenNs == stepStartNs) {
          sameGapTokens++;
        } else {
          listener.onToken(s, endNs - s.lastTokenNs);
        }
      }
      s.lastTokenNs = endNs;
      if (s.generated >= s.outputTokens) {
        finish(s, endNs);
      }
    }
    if (steadyPlanned) {
      steadySteps++;
      lastSteadyEndNs = endNs;
      lazyComputedSum += lazyCount;
      sameGapTokens += lazyCount;
      dueScratch.clear();
      finishes.takeDue(steadySteps, dueScratch);
      for (int i = 0; i < dueScratch.size(); i++) {
        Sequence s = dueScratch.get(i);
        leaveLazy(s, endNs);
        finish(s, endNs);
      }
    }
    // decoders' filled blocks after every prefill chunk's: the order a lazy decoder, registered at the next
    // plan, also has (a turn's answer and the next turn's prompt may fill one key in one step)
    for (int i = 0; i < batch.size(); i++) {
      Sequence s = batch.get(i);
      registerFull(s, s.computed);
    }
    if (sameGapTokens > 0) {
      listener.onTokens(endNs - stepStartNs, sameGapTokens);
    }
    if (!finished.isEmpty()) {
      changes++;
      // release in running order: the order blocks return to the free list decides later evictions
      if (finished.size() > 1) {
        finished.sort((a, b) -> Long.compare(a.runningOrder, b.runningOrder));
      }
      for (int i = 0; i < finished.size(); i++) {
        Sequence s = finished.get(i);
        kv.free(s.blocks);
        if (s.holdsAdapter) {
          adapters.release(s.adapter);
          s.holdsAdapter = false;
        }
        running.remove(s);
        if (s.inEager) {
          eagerRemove(s);
        }
        if (s.timedOut) {
          s.finishNs = -1;
          timeouts++;
          listener.onTimedOut(s, endNs);
        } else {
          listener.onFinished(s, endNs);
        }
      }
    }
    if (lazyAllowed && bulk) {
      Sequence next;
      for (Sequence s = eagerHead; s != null; s = next) {
        next = s.nextEager;
        if (s.decoding && s.lastTokenNs == endNs) {
          joinLazy(s);
        }
      }
    }
  }

  /**
   * Whether the planned step may open a decode stretch: it is steady, holds nothing but lazy decoders,
   * loads no adapter, and nothing waiting could be admitted by a later step of the stretch (the queue is
   * empty, or full sequences, a spent token budget or busy adapter slots hold it back, which only a
   * finish or an arrival changes). Until a lazy sequence finishes, a request arrives or a block does not
   * fit, the next steps then repeat this one with every decode one token longer: {@link #completeQuiet}
   * and {@link #planQuiet} run them without visiting anything.
   */
  public boolean stretchable() {
    if (!steadyPlanned || eagerHead != null || !batch.isEmpty() || syncLoadNs != 0
        || nextAdapterReadyNs != Long.MAX_VALUE) {
      return false;
    }
    return waiting.isEmpty() || running.size() >= config.maxNumSeqs()
        || config.maxNumBatchedTokens() <= lazyCount || noCandidateAt == changes;
  }

  /** Whether completing the planned step of a stretch finishes a lazy sequence (then use {@link #complete}). */
  public boolean finishDue() {
    return finishes.hasDue(steadySteps + 1);
  }

  /**
   * Completes the planned step of a decode stretch at {@code endNs}, as {@link #complete} would when
   * {@link #stretchable} held at planning and {@link #finishDue} is false: its tokens go to the listener
   * in bulk.
   */
  public void completeQuiet(long endNs, StepListener listener) {
    stepOpen = false;
    steadySteps++;
    lastSteadyEndNs = endNs;
    lazyComputedSum += lazyCount;
    listener.onTokens(endNs - stepStartNs, lazyCount);
  }

  /**
   * Plans the next step of a decode stretch at {@code nowNs}, after {@link #completeQuiet}: the same step
   * with every decode one token longer and a block for each that crosses a block boundary, as {@link #plan}
   * would plan it. Returns false when those blocks do not fit; then call {@link #plan}, which takes it
   * from there.
   */
  public boolean planQuiet(long nowNs) {
    if (!quietBoundaries()) {
      return false;
    }
    stepStartNs = nowNs;
    planned++;
    shape.decodeContextTokens = lazyComputedSum + lazyCount;
    shape.kvReadTokens = lazyComputedSum + lazyCount;
    stepOpen = true;
    return true;
  }

  /**
   * Allocates a block to each lazy decoder that crosses a block boundary in the step after {@code
   * steadySteps}, as {@link #plan} would. Returns false, leaving them in boundaryScratch for plan() to
   * count with the rest, when they do not fit.
   */
  private boolean quietBoundaries() {
    if (countedBoundaries) {
      if (dueBoundaryBlocks() > kv.freeBlocks()) {
        return false;
      }
      allocateCountedBoundaries();
      return true;
    }
    boundaries.takeDue(steadySteps, boundaryScratch);
    if (boundaryScratch.size() > kv.freeBlocks()) {
      return false;
    }
    // their last blocks filled in the step just completed: cached now, as plan() caches them
    for (int i = 0; i < boundaryScratch.size(); i++) {
      Sequence s = boundaryScratch.get(i);
      registerFull(s, s.lazyComputed0 + (steadySteps - s.lazyBaseStep));
    }
    for (int i = 0; i < boundaryScratch.size(); i++) {
      Sequence s = boundaryScratch.get(i);
      kv.allocate(1, s.blocks);
      s.lazyBoundaryStep += config.blockSize();
      boundaries.add(s, steadySteps);
    }
    boundaryScratch.clear();
    return true;
  }

  /** The block-boundary phase of a steady step (counted boundaries). */
  private int phase(long step) {
    return phaseMask >= 0 ? (int) (step & phaseMask) : (int) (step % phaseCount.length);
  }

  /** Blocks the lazy decoders crossing a block boundary at the current step need (counted boundaries). */
  private int dueBoundaryBlocks() {
    return boundaryAllocatedStep == steadySteps ? 0 : phaseCount[phase(steadySteps)];
  }

  /** Allocates the blocks of {@link #dueBoundaryBlocks} (they fit: checked by the caller). */
  private void allocateCountedBoundaries() {
    int due = dueBoundaryBlocks();
    if (due > 0) {
      int phase = phase(steadySteps);
      kv.reserve(due);
      phaseAllocations[phase]++;
    }
    boundaryAllocatedStep = steadySteps;
  }

  /**
   * Runs the quiet steps of the open decode stretch {@code q} in bulk: completes the planned step and
   * plans the next, as {@link #completeQuiet} and {@link #planQuiet} would one by one, while the step
   * ends before {@code q.limitNs} and no lazy sequence finishes in it. The tokens go to {@code listener}
   * in one {@link StepListener#onTokens} call per run of gaps it records alike; what the loop's metrics
   * need comes back in {@code q} (see {@link QuietSteps}). The work per step is its price, a check of the
   * two step wheels' buckets and the block boundaries that fall in it.
   */
  public void runQuiet(QuietSteps q, StepListener listener) {
    q.price(shape);
    long start = stepStartNs;
    long end = q.endNs;
    long limit = q.limitNs;
    long index = q.index;
    long lazy = lazyCount;
    long used = kv.usedBlocks();
    long usedNs = 0;
    long completed = 0;
    long plannedNs = 0;
    boolean replan = false;
    // the run of gaps the listener records alike: [runGap, runEnd), runCount tokens
    long runGap = 0;
    long runEnd = 0;
    long runCount = 0;
    while (end < limit && !finishes.hasDue(steadySteps + 1)) {
      long gap = end - start;
      usedNs += used * gap;
      steadySteps++;
      lazyComputedSum += lazy;
      completed++;
      if (gap >= runEnd || gap < runGap) {
        if (runCount > 0) {
          listener.onTokens(runGap, runCount);
        }
        runGap = gap;
        runEnd = listener.tokenGapBucketEndNs(gap);
        runCount = 0;
      }
      runCount += lazy;
      start = end;
      if (countedBoundaries ? phaseCount[phase(steadySteps)] != 0
          : !boundaries.nothingAt(steadySteps)) {
        if (!quietBoundaries()) {
          replan = true;
          break;
        }
        used = kv.usedBlocks();
      }
      planned++;
      long duration = Math.max(1, q.prices.stepNs(++index));
      plannedNs += duration;
      end = start + duration;
    }
    if (runCount > 0) {
      listener.onTokens(runGap, runCount);
    }
    if (completed > 0) {
      lastSteadyEndNs = start;
      stepStartNs = start;
      shape.decodeContextTokens = lazyComputedSum + lazyCount;
      shape.kvReadTokens = lazyComputedSum + lazyCount;
    }
    stepOpen = !replan;
    q.index = index;
    q.endNs = end;
    q.completed = completed;
    q.planned = replan ? completed - 1 : completed;
    q.lastEndNs = start;
    q.plannedNs = plannedNs;
    q.usedBlockNs = usedNs;
    q.replan = replan;
    q.totalCompleted += completed;
    if (replan) {
      q.close();
    }
  }

  private void finish(Sequence s, long endNs) {
    s.finishNs = endNs;
    finished.add(s);
  }

  /** A decoding sequence stops being visited: from the next steady step its tokens are counted in bulk. */
  private void joinLazy(Sequence s) {
    eagerRemove(s);
    maxLazyOrder = Math.max(maxLazyOrder, s.runningOrder);
    s.lazy = true;
    s.lazyBaseStep = steadySteps;
    s.lazyComputed0 = s.computed;
    s.lazyGenerated0 = s.generated;
    s.lazyFinishStep = steadySteps + (s.outputTokens - s.generated);
    int toBoundary = Math.floorMod(-s.computed, config.blockSize());
    s.lazyBoundaryStep = steadySteps + toBoundary;
    finishes.add(s, steadySteps);
    if (countedBoundaries) {
      int phase = phase(s.lazyBoundaryStep);
      s.lazyPhase = phase;
      s.lazyCrossBase = phaseAllocations[phase];
      phaseCount[phase]++;
    } else {
      boundaries.add(s, steadySteps);
    }
    lazyCount++;
    lazyComputedSum += s.computed;
    if (s.adapter >= 0) {
      lazyAdapterSeqs++;
      if (lazyAdapterRefs[s.adapter]++ == 0) {
        lazyDistinctAdapters++;
        lazyRankSum += s.rank;
      }
    }
  }

  /**
   * Brings a lazy sequence's counts up to date and takes it out of lazy bookkeeping (not the heaps);
   * {@code lastTokenNs} is the end of the last steady step, when it sampled its last token.
   */
  private void leaveLazy(Sequence s, long lastTokenNs) {
    long steps = steadySteps - s.lazyBaseStep;
    s.computed = (int) (s.lazyComputed0 + steps);
    s.generated = (int) (s.lazyGenerated0 + steps);
    if (countedBoundaries) {
      phaseCount[s.lazyPhase]--;
      kv.assign((int) (phaseAllocations[s.lazyPhase] - s.lazyCrossBase), s.blocks);
    }
    registerFull(s, s.computed);
    if (steps > 0) {
      s.lastTokenNs = lastTokenNs;
    }
    s.lazy = false;
    lazyCount--;
    lazyComputedSum -= s.computed;
    if (s.adapter >= 0) {
      lazyAdapterSeqs--;
      if (--lazyAdapterRefs[s.adapter] == 0) {
        lazyDistinctAdapters--;
        lazyRankSum -= s.rank;
      }
    }
  }

  /**
   * A request's TTFT deadline passed at {@code nowNs}: if it has no first token yet it leaves now, from
   * the waiting queue or the running list, freeing its blocks and adapter, and the listener hears of it.
   * A request in the batch of the step under way is left to {@link #complete}, which times it out when
   * its first token comes after the deadline. Returns whether it timed out now.
   */
  public boolean expire(Sequence s, long nowNs, StepListener listener) {
    if (s.firstTokenNs >= 0 || s.finishNs >= 0 || s.timedOut) {
      return false;
    }
    if (stepOpen && s.batchStep == planned) {
      return false;
    }
    changes++;
    if (s.inRunning) {
      // a request without a first token is never a lazy decoder
      running.remove(s);
      eagerRemove(s);
      kv.free(s.blocks);
      if (s.holdsAdapter) {
        adapters.release(s.adapter);
        s.holdsAdapter = false;
      }
    } else {
      waiting.remove(s);
    }
    s.timedOut = true;
    timeouts++;
    listener.onTimedOut(s, nowNs);
    return true;
  }

  /**
   * Ends a request that cannot go on (its adapter failed to load, say) wherever it is: waiting, running,
   * or in the batch of the step just planned, which then runs without it (batch and shape). Its KV blocks
   * and adapter reference are freed and no listener hears of it: the caller tells the request's owner.
   * Only for eager scheduling: a sequence counted in bulk, or a steady step, cannot lose a member.
   */
  public void abort(Sequence s, long nowNs) {
    if (s.finishNs >= 0 || s.timedOut) {
      return;
    }
    boolean inStep = stepOpen && s.batchStep == planned && s.inRunning;
    if (s.lazy || (inStep && steadyPlanned)) {
      throw new IllegalStateException("request " + s.requestId + " is in a steady step counted in bulk; build the"
          + " scheduler with lazyAllowed false to abort requests");
    }
    changes++;
    if (s.inRunning) {
      running.remove(s);
      eagerRemove(s);
      kv.free(s.blocks);
      if (s.holdsAdapter) {
        adapters.release(s.adapter);
        s.holdsAdapter = false;
      }
      if (inStep && batch.remove(s)) {
        rebuildShape();
        stepOpen = shape.sequences > 0;
      }
    } else {
      waiting.remove(s);
    }
    s.finishNs = nowNs;
  }

  /** Recounts the planned step's shape from its batch (an eager step: every member is in the batch). */
  private void rebuildShape() {
    shape.clear();
    marked = 0;
    for (Sequence s : batch) {
      addToShape(s, s.chunk, s.chunkStarts);
    }
    unmarkAdapters();
    countQueueAndSlots();
  }

  /**
   * The waiting queue as the step's scheduling pass sees it (its length, and whether slots block it), and
   * the adapters resident in slots once its admissions have loaded theirs.
   */
  private void countQueueAndSlots() {
    shape.waitingSequences = waiting.size();
    shape.slotsBlocked = shape.waitingSequences > 0 && adapters.gpuSlots() > 0 && !adapters.hasReplaceableSlot();
    shape.loadedAdapters = adapters.residentAdapters();
  }

  /** Requests that timed out before their first token. */
  public long timeouts() {
    return timeouts;
  }

  /** Whether a planned step is under way (planned and not yet completed). */
  public boolean stepOpen() {
    return stepOpen;
  }

  /** Brings every sequence's token counts up to date (before a plain step, and at the end of a run). */
  public void materialize() {
    if (lazyCount == 0) {
      return;
    }
    for (Sequence s = running.head; s != null; s = s.nextRunning) {
      if (s.lazy) {
        leaveLazy(s, lastSteadyEndNs);
      }
    }
    finishes.clear();
    boundaries.clear();
    maxLazyOrder = -1;
    eagerHead = null;
    eagerTail = null;
    for (Sequence s = running.head; s != null; s = s.nextRunning) {
      s.inEager = false;
      eagerAddLast(s);
    }
  }

  private void eagerAddLast(Sequence s) {
    s.inEager = true;
    s.prevEager = eagerTail;
    s.nextEager = null;
    if (eagerTail != null) {
      eagerTail.nextEager = s;
    } else {
      eagerHead = s;
    }
    eagerTail = s;
  }

  private void eagerRemove(Sequence s) {
    if (!s.inEager) {
      return;
    }
    if (s.prevEager != null) {
      s.prevEager.nextEager = s.nextEager;
    } else {
      eagerHead = s.nextEager;
    }
    if (s.nextEager != null) {
      s.nextEager.prevEager = s.prevEager;
    } else {
      eagerTail = s.prevEager;
    }
    s.prevEager = null;
    s.nextEager = null;
    s.inEager = false;
  }

  private int blocksFor(int tokens) {
    return (tokens + config.blockSize() - 1) / config.blockSize();
  }

  /** Waiting requests that arrived at or before {@code ns} (counted once, at the end of a run). */
  public long countWaitingSince(long ns) {
    return waiting.countArrivedBy(ns);
  }

  /** Running sequences in admission order (a copy, for invariant checks). */
  public List<Sequence> running() {
    List<Sequence> out = new ArrayList<>(running.size());
    for (Sequence s = running.head; s != null; s = s.nextRunning) {
      out.add(s);
    }
    return java.util.Collections.unmodifiableList(out);
  }

  public KvBlockManager kv() {
    return kv;
  }

  public AdapterCache adapters() {
    return adapters;
  }

  /** The running sequences in admission order, as an intrusive doubly linked list (O(1) removal). */
  private static final class RunningList {
    Sequence head;
    Sequence tail;
    private int size;
    private long nextOrder;

    void addLast(Sequence s) {
      s.inRunning = true;
      s.runningOrder = nextOrder++;
      s.prevRunning = tail;
      s.nextRunning = null;
      if (tail != null) {
        tail.nextRunning = s;
      } else {
        head = s;
      }
      tail = s;
      size++;
    }

    void remove(Sequence s) {
      s.inRunning = false;
      if (s.prevRunning != null) {
        s.prevRunning.nextRunning = s.nextRunning;
      } else {
        head = s.nextRunning;
      }
      if (s.nextRunning != null) {
        s.nextRunning.prevRunning = s.prevRunning;
      } else {
        tail = s.prevRunning;
      }
      s.prevRunning = null;
      s.nextRunning = null;
      size--;
    }

    int size() {
      return size;
    }
  }
}
