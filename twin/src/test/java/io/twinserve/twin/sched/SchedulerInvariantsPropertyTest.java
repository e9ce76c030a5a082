package io.twinserve.twin.sched;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.twinserve.twin.adapters.AdapterCache;
import io.twinserve.twin.kv.KvBlockManager;
import io.twinserve.twin.perf.StepShape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;
import net.jqwik.api.statistics.StatisticsReport;

/**
 * Drives the real scheduler, KV block manager and adapter cache with small random configurations (few
 * blocks, few adapter slots, small token budgets, prefix caching with shared prefixes) and checks the
 * invariants after every plan and every completed step.
 */
class SchedulerInvariantsPropertyTest {
    private static final long STEP_NS = 10;
    private static final int MAX_ITERATIONS = 200_000;

    /** A random replica configuration. */
    record Setup(
            int blockSize,
            int numBlocks,
            int maxNumSeqs,
            int budget,
            boolean chunked,
            boolean prefix,
            int slots,
            int cpuSlots,
            int adapterCount,
            boolean async,
            long[] loadCpuNs,
            long[] loadStorageNs) {

        int capacityTokens() {
            return numBlocks * blockSize;
        }

        @Override
        public String toString() {
            return "Setup[blockSize=" + blockSize + ", numBlocks=" + numBlocks + ", maxNumSeqs=" + maxNumSeqs
                    + ", budget=" + budget + ", chunked=" + chunked + ", prefix=" + prefix + ", slots=" + slots
                    + ", cpuSlots=" + cpuSlots + ", adapters=" + adapterCount + ", async=" + async + "]";
        }
    }

    /** One request: when it arrives, its adapter, lengths, and which prefix family its hashes follow. */
    record Req(long arrivalNs, int adapter, int prompt, int output, int family, int hashedBlocks) {}

    record Scenario(Setup setup, List<Req> requests, int[] divergeAt) {
        @Override
        public String toString() {
            return setup + " requests=" + requests + " divergeAt=" + Arrays.toString(divergeAt);
        }
    }

    // a fixed seed keeps the build deterministic; change it locally to explore further
    @Property(tries = 400, seed = "4631290356118277")
    @StatisticsReport(StatisticsReport.StatisticsReportMode.OFF) // the coverage checks below still apply
    void everyStepKeepsKvAdapterAndBudgetInvariantsAndEveryRequestFinishesOnce(@ForAll("scenarios") Scenario scenario) {
        Run run = new Run(scenario);
        run.toCompletion();
        Statistics.label("preempted").collect(run.scheduler.preemptions() > 0);
        Statistics.label("prefix hits").collect(run.scheduler.cachedPromptTokens() > 0);
        Statistics.label("all fit").collect(run.allFit);
        // the generator must exercise preemption and prefix hits, or the invariants prove little
        Statistics.label("preempted").coverage(cov -> cov.check(true).percentage(p -> p >= 15));
        Statistics.label("prefix hits").coverage(cov -> cov.check(true).percentage(p -> p >= 15));

        // (d) every request accounted for exactly once
        long finished = run.finishedCount.values().stream().filter(n -> n > 0).count();
        assertThat(run.finishedCount.values())
                .as("onFinished calls per sequence")
                .allMatch(n -> n <= 1);
        assertThat(finished + run.scheduler.waitingCount() + run.scheduler.runningCount())
                .as("finished + waiting + running")
                .isEqualTo(run.all.size());
        if (run.allFit) {
            assertThat(finished).as("every request that fits finishes").isEqualTo(run.all.size());
            assertThat(run.scheduler.isIdle()).isTrue();
            // (a) when everything has finished, all blocks are free
            assertThat(run.kv.freeBlocks()).isEqualTo(run.kv.totalBlocks());
            for (int b = 0; b < run.kv.totalBlocks(); b++) {
                assertThat(run.kv.refCount(b)).as("refCount of block %d", b).isZero();
            }
            assertThat(run.adapters.adaptersInUse()).isZero();
        }
        for (Sequence s : run.all) {
            if (run.finishedCount.getOrDefault(s, 0) == 1) {
                // (f) generated tokens end equal to the output tokens, each reported once
                assertThat(s.generated()).as("generated of %d", s.requestId()).isEqualTo(s.outputTokens());
                assertThat(run.tokenEvents.get(s))
                        .as("token events of %d", s.requestId())
                        .isEqualTo(s.outputTokens());
                assertThat(run.firstTokenEvents.get(s))
                        .as("first-token events of %d", s.requestId())
                        .isEqualTo(1);
                assertThat(s.blocks.size()).isZero();
                assertThat(s.holdsAdapter).isFalse();
            } else {
                // not silently lost: still waiting (a request that never fits) and holding nothing
                assertThat(s.finishNs()).isNegative();
                assertThat(run.scheduler.running()).doesNotContain(s);
            }
        }
    }

    /** One simulated run with the checks of every step. */
    static final class Run implements StepListener {
        final Setup c;
        final KvBlockManager kv;
        final AdapterCache adapters;
        final Scheduler scheduler;
        final SchedulerConfig config;
        final List<Sequence> all = new ArrayList<>();
        final long[] arrivals;
        final Map<Sequence, Integer> finishedCount = new IdentityHashMap<>();
        final Map<Sequence, Integer> tokenEvents = new IdentityHashMap<>();
        final Map<Sequence, Integer> firstTokenEvents = new IdentityHashMap<>();
        final Map<Integer, Integer> heldSlot = new HashMap<>();
        /** Per sequence: {preemptions when last seen in a batch, batches it was in since its last preemption}. */
        final Map<Sequence, int[]> runs = new IdentityHashMap<>();

        final boolean allFit;

        Run(Scenario sc) {
            this.c = sc.setup();
            this.config = new SchedulerConfig(
                    c.maxNumSeqs(),
                    c.budget(),
                    c.chunked(),
                    c.blockSize(),
                    (long) c.capacityTokens(),
                    c.prefix(),
                    c.slots(),
                    c.cpuSlots(),
                    16,
                    c.capacityTokens(),
                    c.async());
            this.kv = new KvBlockManager(config.kvCacheTokens(), c.blockSize(), c.prefix());
            this.adapters = new AdapterCache(c.slots(), c.cpuSlots(), c.adapterCount(), new AdapterCache.LoadTimes() {
                @Override
                public long fromCpuNs(int adapter) {
                    return c.loadCpuNs()[adapter];
                }

                @Override
                public long fromStorageNs(int adapter) {
                    return c.loadStorageNs()[adapter];
                }
            });
            this.scheduler = new Scheduler(config, kv, adapters, c.adapterCount());
            List<Req> reqs = sc.requests();
            arrivals = new long[reqs.size()];
            boolean fit = true;
            for (int i = 0; i < reqs.size(); i++) {
                Req r = reqs.get(i);
                arrivals[i] = r.arrivalNs();
                long[] hashes = new long[c.prefix() ? r.hashedBlocks() : 0];
                for (int j = 0; j < hashes.length; j++) {
                    hashes[j] = hash(r.family(), j, sc.divergeAt(), i);
                }
                all.add(new Sequence(
                        i, i, r.arrivalNs(), r.adapter(), r.adapter() < 0 ? 0 : 8, r.prompt(), r.output(), hashes));
                // without chunked prefill a (re)computed prefill must fit the budget in one step
                if (!c.chunked() && r.prompt() + r.output() - 1 > c.budget()) {
                    fit = false;
                }
            }
            this.allFit = fit;
        }

        /** Block j of a family: a common chain up to the family's divergence point, its own hashes after. */
        private static long hash(int family, int block, int[] divergeAt, int request) {
            if (family < 0) {
                return mix(0x5eed_0000L + request * 1_000_003L + block); // a prompt nobody shares
            }
            return block < divergeAt[family] ? mix(0xc0ffeeL + block) : mix((family + 1) * 7_919L + block * 104_729L);
        }

        private static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return z ^ (z >>> 31);
        }

        void toCompletion() {
            long now = 0;
            int next = 0;
            for (int it = 0; ; it++) {
                if (it > MAX_ITERATIONS) {
                    fail("no end after " + MAX_ITERATIONS + " steps: running " + scheduler.runningCount() + ", waiting "
                            + scheduler.waitingCount() + ", preemptions " + scheduler.preemptions());
                }
                while (next < all.size() && arrivals[next] <= now) {
                    scheduler.enqueue(all.get(next++));
                }
                Set<Sequence> runningBefore = Collections.newSetFromMap(new IdentityHashMap<>());
                runningBefore.addAll(scheduler.running());
                long preemptionsBefore = scheduler.preemptions();
                boolean work = scheduler.plan(now);
                checkPlan(runningBefore, scheduler.preemptions() > preemptionsBefore);
                checkState();
                if (work && !scheduler.batch().isEmpty()) {
                    long end = now + STEP_NS + scheduler.stallNs();
                    while (next < all.size() && arrivals[next] <= end) {
                        scheduler.enqueue(all.get(next++));
                    }
                    scheduler.complete(end, this);
                    now = end;
                    checkState();
                    continue;
                }
                long wake =
                        Math.min(scheduler.nextAdapterReadyNs(), next < all.size() ? arrivals[next] : Long.MAX_VALUE);
                if (wake == Long.MAX_VALUE) {
                    assertThat(next).as("all requests enqueued").isEqualTo(all.size());
                    return;
                }
                assertThat(wake).as("an idle scheduler wakes in the future").isGreaterThan(now);
                now = wake;
            }
        }

        private void checkPlan(Set<Sequence> runningBefore, boolean preempted) {
            List<Sequence> batch = scheduler.batch();
            StepShape shape = scheduler.shape();
            // (e) token budget and batch size
            assertThat(shape.newTokens).as("tokens this step").isLessThanOrEqualTo(config.maxNumBatchedTokens());
            assertThat(batch.size()).as("batch size").isLessThanOrEqualTo(config.maxNumSeqs());
            assertThat(scheduler.runningCount()).as("running").isLessThanOrEqualTo(config.maxNumSeqs());
            assertThat(shape.sequences).isEqualTo(batch.size());
            int tokens = 0;
            Set<Integer> distinct = new HashSet<>();
            Set<Sequence> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            boolean admittedSeen = false;
            for (Sequence s : batch) {
                assertThat(seen.add(s))
                        .as("sequence %d twice in a batch", s.requestId())
                        .isTrue();
                assertThat(scheduler.running()).as("batch member runs").contains(s);
                assertThat(s.chunk).as("chunk of %d", s.requestId()).isPositive();
                if (s.decoding) {
                    assertThat(s.chunk).isEqualTo(1);
                } else {
                    assertThat(s.computed + s.chunk).isLessThanOrEqualTo(s.prefillTarget());
                    if (!config.chunkedPrefill() && !config.asyncAdapterLoads()) {
                        assertThat(s.computed + s.chunk)
                                .as("whole prefill without chunking")
                                .isEqualTo(s.prefillTarget());
                    }
                }
                // the sequence holds KV blocks for every token it will have computed after this step
                assertThat((long) s.blocks.size() * config.blockSize()).isGreaterThanOrEqualTo(s.computed + s.chunk);
                tokens += s.chunk;
                // its chunk counts as a start (a new request, in the step's price) only in its first batch since it
                // was admitted, or admitted again after a preemption
                int[] run = runs.computeIfAbsent(s, k -> new int[] {k.preemptions, 0});
                if (run[0] != s.preemptions) {
                    run[0] = s.preemptions;
                    run[1] = 0;
                }
                if (s.chunkStarts) {
                    assertThat(run[1])
                            .as("request %d starts again in a run it already stepped in", s.requestId())
                            .isZero();
                }
                run[1]++;
                if (s.adapter() >= 0) {
                    distinct.add(s.adapter());
                    assertThat(adapters.isResident(s.adapter()))
                            .as("adapter of a batch member is resident")
                            .isTrue();
                }
                // running sequences come first, newly admitted ones after them; none admitted after a preemption
                boolean admitted = !runningBefore.contains(s);
                if (admitted) {
                    assertThat(preempted)
                            .as("admission in a step that preempted")
                            .isFalse();
                    admittedSeen = true;
                } else {
                    assertThat(admittedSeen)
                            .as("a running sequence after a newly admitted one")
                            .isFalse();
                }
            }
            assertThat(shape.newTokens).isEqualTo(tokens);
            // (c) never more distinct adapters in a batch than GPU slots
            assertThat(shape.distinctAdapters).isEqualTo(distinct.size()).isLessThanOrEqualTo(config.maxAdapters());
        }

        private void checkState() {
            // (a) no KV block double use or leak
            kv.checkConsistency();
            int[] refs = new int[kv.totalBlocks()];
            Map<Integer, Integer> holders = new HashMap<>();
            Set<Sequence> running = Collections.newSetFromMap(new IdentityHashMap<>());
            running.addAll(scheduler.running());
            for (Sequence s : scheduler.running()) {
                Set<Integer> own = new HashSet<>();
                for (int j = 0; j < s.blocks.size(); j++) {
                    int b = s.blocks.get(j);
                    assertThat(own.add(b))
                            .as("block %d twice in the table of %d", b, s.requestId())
                            .isTrue();
                    refs[b]++;
                }
                if (s.holdsAdapter) {
                    holders.merge(s.adapter(), 1, Integer::sum);
                } else {
                    assertThat(s.adapter())
                            .as("a running adapter sequence holds its adapter")
                            .isNegative();
                }
            }
            int used = 0;
            for (int b = 0; b < refs.length; b++) {
                assertThat(refs[b]).as("references to block %d", b).isEqualTo(kv.refCount(b));
                used += refs[b] > 0 ? 1 : 0;
            }
            assertThat(used).as("used blocks").isEqualTo(kv.usedBlocks());
            for (Sequence s : all) {
                if (!running.contains(s)) {
                    assertThat(s.blocks.size())
                            .as("blocks of idle sequence %d", s.requestId())
                            .isZero();
                    assertThat(s.holdsAdapter).isFalse();
                }
            }
            // (b) an adapter in use stays resident, in the same slot, until released
            assertThat(adapters.adaptersInUse()).isEqualTo(holders.size()).isLessThanOrEqualTo(config.maxAdapters());
            Map<Integer, Integer> slots = new HashMap<>();
            for (var e : holders.entrySet()) {
                int a = e.getKey();
                assertThat(adapters.isResident(a))
                        .as("adapter %d in use is resident", a)
                        .isTrue();
                assertThat(adapters.refs(a)).as("references to adapter %d", a).isEqualTo(e.getValue());
                int slot = slotOf(a);
                Integer before = heldSlot.get(a);
                if (before != null) {
                    assertThat(slot).as("slot of adapter %d while in use", a).isEqualTo(before);
                }
                slots.put(a, slot);
            }
            heldSlot.clear();
            heldSlot.putAll(slots);
        }

        private int slotOf(int adapter) {
            for (int s = 0; s < adapters.gpuSlots(); s++) {
                if (adapters.adapterInSlot(s) == adapter) {
                    return s;
                }
            }
            return -1;
        }

        @Override
        public void onFirstToken(Sequence s, long nowNs) {
            firstTokenEvents.merge(s, 1, Integer::sum);
            tokenEvents.merge(s, 1, Integer::sum);
        }

        @Override
        public void onToken(Sequence s, long gapNs) {
            assertThat(gapNs).isPositive();
            tokenEvents.merge(s, 1, Integer::sum);
        }

        @Override
        public void onFinished(Sequence s, long nowNs) {
            finishedCount.merge(s, 1, Integer::sum);
            assertThat(s.generated()).isEqualTo(s.outputTokens());
            assertThat(s.blocks.size()).as("blocks released before onFinished").isZero();
            assertThat(s.holdsAdapter).isFalse();
        }
    }

    @Provide
    Arbitrary<Scenario> scenarios() {
        Arbitrary<Integer> blockSize = Arbitraries.of(1, 2, 4, 8);
        Arbitrary<Integer> numBlocks = Arbitraries.integers().between(2, 24);
        Arbitrary<Integer> maxNumSeqs = Arbitraries.integers().between(1, 6);
        Arbitrary<Integer> budget = Arbitraries.integers().between(1, 48);
        Arbitrary<Boolean> chunked = Arbitraries.of(true, true, true, false);
        Arbitrary<Boolean> prefix = Arbitraries.of(true, true, true, false);
        Arbitrary<Integer> slots = Arbitraries.integers().between(1, 3);
        Arbitrary<Integer> extraCpu = Arbitraries.integers().between(0, 3);
        Arbitrary<Integer> adapterCount = Arbitraries.integers().between(0, 6);
        Arbitrary<Boolean> async = Arbitraries.of(false, false, true);
        Arbitrary<Setup> setups = Combinators.combine(
                        blockSize, numBlocks, maxNumSeqs, budget, chunked, prefix, slots, extraCpu)
                .flatAs((bs, nb, seqs, b, ch, px, sl, cpu) -> Combinators.combine(
                                adapterCount,
                                async,
                                Arbitraries.longs()
                                        .between(0, 25)
                                        .array(long[].class)
                                        .ofSize(6),
                                Arbitraries.longs()
                                        .between(0, 40)
                                        .array(long[].class)
                                        .ofSize(6))
                        .as((n, as, cpuNs, storageNs) ->
                                new Setup(bs, nb, seqs, b, ch, px, sl, sl + cpu, n, as, cpuNs, storageNs)));
        return setups.flatMap(s -> {
            Arbitrary<int[]> diverge = Arbitraries.integers()
                    .between(0, s.numBlocks())
                    .array(int[].class)
                    .ofSize(3);
            return Combinators.combine(requests(s), diverge).as((reqs, d) -> new Scenario(s, reqs, d));
        });
    }

    private static Arbitrary<List<Req>> requests(Setup s) {
        int capacity = s.capacityTokens();
        Arbitrary<Long> gap = Arbitraries.longs().between(0, 30).edgeCases(e -> e.add(0L));
        Arbitrary<Integer> adapter = Arbitraries.integers().between(-1, s.adapterCount() - 1);
        Arbitrary<Integer> family = Arbitraries.integers().between(-1, 2);
        Arbitrary<Integer> prompt = Arbitraries.integers().between(1, capacity);
        Arbitrary<Req> one = Combinators.combine(gap, adapter, family, prompt).flatAs((g, a, f, p) -> {
            // the whole sequence (prompt and every output token but the last) fits the KV cache
            Arbitrary<Integer> output = Arbitraries.integers().between(1, capacity - p + 1);
            Arbitrary<Integer> hashed = Arbitraries.integers().between(0, p / s.blockSize());
            return Combinators.combine(output, hashed).as((o, h) -> new Req(g, a, p, o, f, h));
        });
        return one.list().ofMinSize(1).ofMaxSize(24).map(list -> {
            List<Req> out = new ArrayList<>(list.size());
            long t = 0;
            for (Req r : list) {
                t += r.arrivalNs();
                out.add(new Req(t, r.adapter(), r.prompt(), r.output(), r.family(), r.hashedBlocks()));
            }
            return out;
        });
    }
}
