package io.twinserve.twin.sched;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.perf.StepShape;
import java.util.ArrayList;
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
 */
public final class Scheduler {
  private final SchedulerConfig config;
  private final KvBlockManager kv;
  private final AdapterCache adapters;
  private final AdapterQueues waiting;
  private final List<Sequence> running = new ArrayList<>();
  private final List<Sequence> batch = new ArrayList<>();
  private final StepShape shape = new StepShape();
  private boolean[] batchAdapters;
  private int[] batchAdapterList;
  private long syncLoadNs;
  private long preemptions;
  private long cachedTokens;
  private long queriedTokens;
  private long nextAdapterReadyNs = Long.MAX_VALUE;
  private long stepStartNs = -1;

  public Scheduler(SchedulerConfig config, KvBlockManager kv, AdapterCache adapters, int adapterCount) {
    this.config = config;
    this.kv = kv;
    this.adapters = adapters;
    this.waiting = new AdapterQueues(adapterCount);
    this.batchAdapters = new boolean[Math.max(1, adapterCount)];
    this.batchAdapterList = new int[Math.max(1, config.maxAdapters())];
  }

  /** A request arrives and waits. */
  public void enqueue(Sequence s) {
    if (s.adapter >= batchAdapters.length) {
      batchAdapters = java.util.Arrays.copyOf(batchAdapters, Math.max(s.adapter + 1, batchAdapters.length * 2));
    }
    waiting.addLast(s);
  }

  public long waitingCount() {
    return waiting.size();
  }

  public int runningCount() {
    return running.size();
  }

  public boolean isIdle() {
    return running.isEmpty() && waiting.isEmpty();
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

  public List<Sequence> batch() {
    return batch;
  }

  /** Adapter load time that stalls this step (sync loads), in ns. */
  public long stallNs() {
    return syncLoadNs;
  }

  /**
   * Chooses the sequences of the step that starts at {@code nowNs}. Returns false when there is nothing
   * to run.
   */
  public boolean plan(long nowNs) {
    stepStartNs = nowNs;
    shape.clear();
    batch.clear();
    syncLoadNs = 0;
    nextAdapterReadyNs = Long.MAX_VALUE;
    int budget = config.maxNumBatchedTokens();
    int distinct = 0;
    boolean preempted = false;
    for (int i = 0; i < running.size() && budget > 0; i++) {
      Sequence s = running.get(i);
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
        Sequence victim = running.getLast();
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
      boolean starts = s.awaitingFirstChunk;
      s.awaitingFirstChunk = false;
      distinct += addToBatch(s, n, starts);
    }
    if (!preempted) {
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
        running.add(s);
        if (config.asyncAdapterLoads() && load > 0) {
          nextAdapterReadyNs = Math.min(nextAdapterReadyNs, nowNs + load);
          s.awaitingFirstChunk = true;
          continue;
        }
        syncLoadNs += load;
        budget -= n;
        distinct += addToBatch(s, n, true);
      }
    }
    for (int i = 0; i < distinct; i++) {
      batchAdapters[batchAdapterList[i]] = false;
    }
    if (!batch.isEmpty() || nextAdapterReadyNs != Long.MAX_VALUE) {
      return true;
    }
    return false;
  }

  /** Adds a sequence to the batch; returns 1 when its adapter is new to the batch. */
  private int addToBatch(Sequence s, int n, boolean starts) {
    s.chunk = n;
    batch.add(s);
    boolean samples = s.decoding || s.computed + n >= s.prefillTarget();
    shape.addSequence(n, s.computed, s.decoding, samples, starts, s.adapter >= 0);
    if (s.adapter >= 0 && !batchAdapters[s.adapter]) {
      batchAdapters[s.adapter] = true;
      int d = shape.distinctAdapters;
      if (d == batchAdapterList.length) {
        batchAdapterList = java.util.Arrays.copyOf(batchAdapterList, d * 2);
      }
      batchAdapterList[d] = s.adapter;
      shape.distinctAdapters++;
      shape.adapterRankSum += s.rank;
      return 1;
    }
    return 0;
  }

  /**
   * The earliest waiting request that may run: any adapter's when a GPU slot can take a new adapter,
   * otherwise only the base model's and those of adapters already in a slot.
   */
  private Sequence nextCandidate() {
    if (waiting.isEmpty()) {
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
    return best;
  }

  private void preempt(Sequence victim) {
    running.removeLast();
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
    boolean anyFinished = false;
    boolean bulk = listener.acceptsBulkTokens();
    long sameGapTokens = 0;
    for (int i = 0; i < batch.size(); i++) {
      Sequence s = batch.get(i);
      s.computed += s.chunk;
      if (s.registeredBlocks < s.hashedBlocks) {
        int full = Math.min(s.hashedBlocks, s.computed / config.blockSize());
        while (s.registeredBlocks < full) {
          kv.register(s.blocks.get(s.registeredBlocks), s.blockHashes[s.registeredBlocks]);
          s.registeredBlocks++;
        }
      }
      if (!s.decoding) {
        if (s.computed < s.prefillTarget()) {
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
        s.finishNs = endNs;
        kv.free(s.blocks);
        if (s.holdsAdapter) {
          adapters.release(s.adapter);
          s.holdsAdapter = false;
        }
        anyFinished = true;
      }
    }
    if (sameGapTokens > 0) {
      listener.onTokens(endNs - stepStartNs, sameGapTokens);
    }
    if (anyFinished) {
      int w = 0;
      for (int r = 0; r < running.size(); r++) {
        Sequence s = running.get(r);
        if (s.finishNs < 0) {
          running.set(w++, s);
        } else {
          listener.onFinished(s, endNs);
        }
      }
      while (running.size() > w) {
        running.removeLast();
      }
    }
  }

  private int blocksFor(int tokens) {
    return (tokens + config.blockSize() - 1) / config.blockSize();
  }

  /** Waiting requests that arrived at or before {@code ns} (counted once, at the end of a run). */
  public long countWaitingSince(long ns) {
    return waiting.countArrivedBy(ns);
  }

  /** Running sequences (read-only view, for invariant checks). */
  public List<Sequence> running() {
    return java.util.Collections.unmodifiableList(running);
  }

  public KvBlockManager kv() {
    return kv;
  }

  public AdapterCache adapters() {
    return adapters;
  }
}
