package io.twinserve.engine.backend.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A {@link Gpu} on the host: device memory is byte buffers at made-up addresses, and each kernel launch runs its
 * Java reference ({@link KernelReferences}) over the arguments as the kernel reads them. It checks the backend's
 * orchestration (weight layout, step metadata, pointers and offsets, the order of kernels) without a GPU; the
 * kernels themselves are checked against the same references on a GPU by {@link CudaKernelCheck}. Every launch is
 * recorded by name.
 */
final class EmulatedGpu implements Gpu {
    /** Whether this emulation has cuBLAS ({@link #gemmBf16}); the default has not, as a machine without it. */
    private final boolean gemm;
    /** GEMMs run. */
    long gemms;

    EmulatedGpu() {
        this(false);
    }

    EmulatedGpu(boolean gemm) {
        this(gemm, true);
    }

    /** @param gemmCaptures whether a graph capture may record cuBLAS's GEMMs (false: refused, as a cuBLAS that cannot be captured) */
    EmulatedGpu(boolean gemm, boolean gemmCaptures) {
        this(gemm, gemmCaptures, gemm);
    }

    /**
     * @param tensorCoreLinear whether linear layers of more than 8 tokens take tensor cores: cuBLAS when {@code gemm},
     *     else {@code ts_gemm_bf16}
     */
    EmulatedGpu(boolean gemm, boolean gemmCaptures, boolean tensorCoreLinear) {
        this.gemm = gemm;
        this.gemmCaptures = gemmCaptures;
        this.tensorCoreLinear = tensorCoreLinear;
    }

    private final boolean tensorCoreLinear;

    @Override
    public boolean tensorCoreLinear() {
        return tensorCoreLinear;
    }

    private final boolean gemmCaptures;

    @Override
    public boolean hasGemm() {
        return gemm;
    }

    /** cuBLAS's linear layer: bf16 weights and inputs, fp32 out ({@link KernelReferences#gemv} over the bf16 x). */
    @Override
    public void gemmBf16(int tokens, int out, int in, long w, long x, long y) {
        if (!gemm) {
            throw new IllegalStateException("no cuBLAS in this emulation");
        }
        if (capturing != null) {
            if (!gemmCaptures) {
                throw new IllegalStateException("a GEMM while a graph is captured");
            }
            // recorded as a launch of its own, run again at each replay with the pointers it had
            capturing.add(new Launch(GEMM, tokens, out, 1, in, new Arg[] {Arg.ptr(w), Arg.ptr(x), Arg.ptr(y)}));
            return;
        }
        applyCopies(Long.MAX_VALUE);
        gemms++;
        short[] xb = shorts(x, tokens * in);
        float[] xf = new float[xb.length];
        for (int i = 0; i < xb.length; i++) {
            xf[i] = KernelReferences.bf(xb[i]);
        }
        put(y, KernelReferences.gemv(shorts(w, out * in), out, in, xf, tokens, null, null));
    }

    private final TreeMap<Long, ByteBuffer> memory = new TreeMap<>();
    private long next = 1L << 32;
    final List<String> launches = new ArrayList<>();
    /** Launches made outside graphs (each also in {@link #launches}). */
    long directLaunches;
    /** Graphs run, and graphs captured. */
    long replays;

    long captures;
    /** Copies into device memory (host to device, synchronous). */
    long copiesIn;

    private record Launch(String name, int gx, int gy, int gz, int bx, Arg[] args) {}

    private final List<List<Launch>> graphs = new ArrayList<>();
    private List<Launch> capturing;
    private boolean replaying;

    /**
     * Records the launches {@code body} makes, runs none (as stream capture does), and refuses a copy meanwhile;
     * {@link #replay} runs them in order with the arguments they had, reading device memory as it is then.
     */
    @Override
    public long capture(Runnable body) {
        if (capturing != null) {
            throw new IllegalStateException("a capture is under way");
        }
        capturing = new ArrayList<>();
        try {
            body.run();
            graphs.add(capturing);
        } finally {
            capturing = null;
        }
        captures++;
        return graphs.size() - 1;
    }

    @Override
    public void replay(long graph) {
        replays++;
        replaying = true;
        try {
            for (Launch l : graphs.get(Math.toIntExact(graph))) {
                launchGrid3(l.name(), l.gx(), l.gy(), l.gz(), l.bx(), l.args());
            }
        } finally {
            replaying = false;
        }
    }

    private void noCapture(String what) {
        if (capturing != null) {
            throw new IllegalStateException(what + " while a graph is captured");
        }
    }

    @Override
    public long alloc(long bytes) {
        long base = next;
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(Math.max(1, bytes))).order(ByteOrder.LITTLE_ENDIAN);
        memory.put(base, b);
        liveBytes += b.capacity();
        next += (bytes + 4096) / 4096 * 4096 + 4096;
        return base;
    }

    @Override
    public void free(long address) {
        ByteBuffer b = memory.remove(address);
        if (b == null) {
            throw new IllegalArgumentException("address " + Long.toHexString(address) + " was not allocated");
        }
        liveBytes -= b.capacity();
    }

    /** Bytes allocated and not freed: what the device would hold. */
    long liveBytes;

    /** The buffer holding {@code address}, positioned so that index 0 is the address (a slice). */
    private ByteBuffer at(long address) {
        Map.Entry<Long, ByteBuffer> e = memory.floorEntry(address);
        if (e == null || address - e.getKey() >= e.getValue().capacity()) {
            throw new IllegalArgumentException("address " + Long.toHexString(address) + " is not allocated");
        }
        return e.getValue()
                .slice((int) (address - e.getKey()), (int) (e.getValue().capacity() - (address - e.getKey())))
                .order(ByteOrder.LITTLE_ENDIAN);
    }

    private int bytesFrom(long address) {
        return at(address).capacity();
    }

    float[] floats(long p, int n) {
        float[] out = new float[n];
        at(p).asFloatBuffer().get(out);
        return out;
    }

    short[] shorts(long p, int n) {
        short[] out = new short[n];
        at(p).asShortBuffer().get(out);
        return out;
    }

    int[] ints(long p, int n) {
        int[] out = new int[n];
        at(p).asIntBuffer().get(out);
        return out;
    }

    void put(long p, float[] v) {
        at(p).asFloatBuffer().put(v);
    }

    void put(long p, short[] v) {
        at(p).asShortBuffer().put(v);
    }

    @Override
    public void copyIn(long dst, short[] src, int from, int count) {
        noCapture("a copy in");
        copiesIn++;
        applyCopies(Long.MAX_VALUE);
        at(dst).asShortBuffer().put(src, from, count);
    }

    @Override
    public void copyIn(long dst, float[] src, int from, int count) {
        noCapture("a copy in");
        copiesIn++;
        applyCopies(Long.MAX_VALUE);
        at(dst).asFloatBuffer().put(src, from, count);
    }

    @Override
    public void copyIn(long dst, int[] src, int from, int count) {
        noCapture("a copy in");
        copiesIn++;
        applyCopies(Long.MAX_VALUE);
        at(dst).asIntBuffer().put(src, from, count);
    }

    @Override
    public void copyOut(float[] dst, int to, long src, int count) {
        noCapture("a copy out");
        applyCopies(Long.MAX_VALUE);
        copiesOut++;
        copiedOutBytes += 4L * count;
        at(src).asFloatBuffer().get(dst, to, count);
    }

    @Override
    public void copyOut(MemorySegment dst, long src, long bytes) {
        noCapture("a copy out");
        applyCopies(Long.MAX_VALUE);
        copiesOut++;
        copiedOutBytes += bytes;
        dst.asSlice(0, bytes).copyFrom(MemorySegment.ofBuffer(at(src).limit(Math.toIntExact(bytes))));
    }

    /** Copies out of device memory (into arrays or host memory), and their bytes. */
    long copiesOut;

    long copiedOutBytes;

    /** A copy started and not yet applied: the emulation applies it late, as a device may. */
    private record PendingCopy(long ticket, long dst, MemorySegment src, long bytes) {}

    private final List<PendingCopy> pending = new ArrayList<>();
    private long lastTicket;
    /** Copies started on the copy stream (for tests: proof that uploads go through it). */
    long asyncCopies;

    @Override
    public MemorySegment pinned(long bytes) {
        return Arena.ofAuto().allocate(Math.max(1, bytes));
    }

    /**
     * Records the copy and applies it only when something must see it: {@link #awaitCopy} of its ticket, a launch
     * (which waits on the copy stream), a copy out or a synchronize. It reads {@code src} then, so a caller that
     * writes the staging buffer again before awaiting the ticket uploads the wrong bytes here as on a device.
     */
    @Override
    public long copyInAsync(long dst, MemorySegment src, long srcOffset, long bytes) {
        noCapture("an upload");
        at(dst); // the destination must exist now
        asyncCopies++;
        pending.add(new PendingCopy(++lastTicket, dst, src.asSlice(srcOffset, bytes), bytes));
        return lastTicket;
    }

    @Override
    public void awaitCopy(long ticket) {
        applyCopies(ticket);
    }

    private void applyCopies(long upTo) {
        while (!pending.isEmpty() && pending.getFirst().ticket() <= upTo) {
            PendingCopy c = pending.removeFirst();
            at(c.dst()).put(c.src().asByteBuffer());
        }
    }

    /** The name a GEMM recorded in a graph has among its launches. */
    static final String GEMM = "cublasGemmEx";

    @Override
    public void launchGrid3(String name, int gx, int gy, int gz, int bx, Arg... a) {
        if (replaying && name.equals(GEMM)) {
            launches.add(name);
            gemmBf16(gx, gy, bx, a[0].bits(), a[1].bits(), a[2].bits());
            return;
        }
        if (capturing != null) {
            capturing.add(new Launch(name, gx, gy, gz, bx, a.clone()));
            return;
        }
        if (!replaying) {
            directLaunches++;
        }
        applyCopies(Long.MAX_VALUE);
        launches.add(name);
        switch (name) {
            case "ts_embed_gather" -> {
                int hidden = a[2].asInt();
                int[] tokens = ints(a[1].bits(), gx);
                int vocabRows = bytesFrom(a[0].bits()) / 2 / hidden;
                put(a[3].bits(), KernelReferences.embedGather(shorts(a[0].bits(), vocabRows * hidden), tokens, hidden));
            }
            case "ts_add_rmsnorm" -> {
                int hidden = a[4].asInt();
                short[] w = shorts(a[2].bits(), hidden);
                boolean chosen = a[3].bits() != 0;
                int[] rows = chosen ? ints(a[3].bits(), gx) : null;
                float[] out = new float[gx * hidden];
                for (int b = 0; b < gx; b++) {
                    int row = chosen ? rows[b] : b;
                    long r = a[0].bits() + 4L * row * hidden;
                    float[] residual = floats(r, hidden);
                    float[] x = a[1].bits() == 0 ? null : floats(a[1].bits() + 4L * row * hidden, hidden);
                    float[] normed = KernelReferences.addRmsNorm(residual, x, w, 1, hidden, a[5].asFloat());
                    put(r, residual);
                    System.arraycopy(normed, 0, out, b * hidden, hidden);
                }
                put(a[6].bits(), out);
            }
            case "ts_to_bf16" -> {
                int n = Math.toIntExact(a[1].bits());
                put(a[2].bits(), KernelReferences.toBf16(floats(a[0].bits(), n)));
            }
            case "ts_add_bias_rows" -> {
                int n = a[2].asInt();
                int count = Math.toIntExact(a[3].bits());
                put(a[0].bits(), KernelReferences.addBiasRows(floats(a[0].bits(), count), shorts(a[1].bits(), n), n));
            }
            case "ts_silu_mul" -> {
                int inter = a[1].asInt();
                put(a[2].bits(), KernelReferences.siluMul(floats(a[0].bits(), gx * 2 * inter), gx, inter));
            }
            case "ts_gemv_bf16" -> {
                int n = a[1].asInt();
                int k = a[2].asInt();
                int tokens = a[4].asInt();
                short[] bias = a[5].bits() == 0 ? null : shorts(a[5].bits(), n);
                float[] add = a[6].bits() == 0 ? null : floats(a[6].bits(), tokens * n);
                float[] y = KernelReferences.gemv(
                        shorts(a[0].bits(), n * k), n, k, floats(a[3].bits(), tokens * k), tokens, bias, add);
                if (a[8].bits() == 0) {
                    put(a[7].bits(), y);
                } else {
                    // three outputs: rows [0, split1), [split1, split2), [split2, n), each [tokens][its rows]
                    int[] from = {0, a[10].asInt(), a[11].asInt()};
                    int[] to = {a[10].asInt(), a[11].asInt(), n};
                    for (int o = 0; o < 3; o++) {
                        int width = to[o] - from[o];
                        float[] part = new float[tokens * width];
                        for (int t = 0; t < tokens; t++) {
                            System.arraycopy(y, t * n + from[o], part, t * width, width);
                        }
                        put(a[7 + o].bits(), part);
                    }
                }
            }
            case "ts_gemv_silu_bf16" -> {
                int inter = a[1].asInt();
                int k = a[2].asInt();
                int tokens = a[4].asInt();
                put(
                        a[5].bits(),
                        KernelReferences.gemvSilu(
                                shorts(a[0].bits(), 2 * inter * k), inter, k, floats(a[3].bits(), tokens * k), tokens));
            }
            case "ts_qk_rope_kv_write" -> {
                int heads = a[9].asInt();
                int kvHeads = a[10].asInt();
                int hd = a[11].asInt();
                int blockSize = a[15].asInt();
                int tokens = gx;
                float[] q = floats(a[0].bits(), tokens * heads * hd);
                float[] k = floats(a[1].bits(), tokens * kvHeads * hd);
                float[] v = floats(a[2].bits(), tokens * kvHeads * hd);
                int[] positions = ints(a[3].bits(), tokens);
                float[] cos = floats(a[4].bits(), bytesFrom(a[4].bits()) / 4);
                float[] sin = floats(a[5].bits(), bytesFrom(a[5].bits()) / 4);
                short[] qn = a[6].bits() == 0 ? null : shorts(a[6].bits(), hd);
                short[] kn = a[7].bits() == 0 ? null : shorts(a[7].bits(), hd);
                int[] slots = ints(a[12].bits(), tokens);
                boolean kvF32 = a[16].asInt() != 0;
                float[] kc = cache(a[13].bits(), kvF32);
                float[] vc = cache(a[14].bits(), kvF32);
                KernelReferences.qkRopeKvWrite(
                        q,
                        k,
                        v,
                        positions,
                        cos,
                        sin,
                        qn,
                        kn,
                        a[8].asFloat(),
                        heads,
                        kvHeads,
                        hd,
                        slots,
                        kc,
                        vc,
                        blockSize,
                        kvF32);
                put(a[0].bits(), q);
                put(a[1].bits(), k);
                putCache(a[13].bits(), kc, kvF32);
                putCache(a[14].bits(), vc, kvF32);
            }
            case "ts_paged_attention" -> {
                // grid (rows, KV heads): the rows row_list names (argument 14), or the first gx
                int maxBlocks = a[4].asInt();
                int heads = a[6].asInt();
                int hd = a[8].asInt();
                boolean kvF32 = a[13].asInt() != 0;
                int[] rows = a[14].bits() == 0 ? null : ints(a[14].bits(), gx);
                attendRows(
                        a,
                        rows == null ? range(0, gx) : rows,
                        maxBlocks,
                        heads,
                        hd,
                        kvF32,
                        a[11].asInt(),
                        a[12].bits());
            }
            case "ts_paged_attention_split" -> {
                // grid (rows, KV heads, splits): ts_paged_attention's arguments, the partials' buffer (argument 12)
                // in place of its output
                int maxBlocks = a[4].asInt();
                int heads = a[6].asInt();
                int hd = a[8].asInt();
                boolean kvF32 = a[13].asInt() != 0;
                Rows g = gather(a, a[14].bits() == 0 ? range(0, gx) : ints(a[14].bits(), gx), maxBlocks, heads, hd);
                put(
                        a[12].bits(),
                        KernelReferences.pagedAttentionSplit(
                                g.q(),
                                cache(a[1].bits(), kvF32),
                                cache(a[2].bits(), kvF32),
                                g.tables(),
                                maxBlocks,
                                g.lens(),
                                heads,
                                a[7].asInt(),
                                hd,
                                a[9].asInt(),
                                a[10].asFloat(),
                                a[11].asInt(),
                                gz));
            }
            case "ts_attention_combine" -> {
                // grid (rows, heads): the partials of gx launch rows into the output rows row_list names
                int splits = a[1].asInt();
                int heads = a[2].asInt();
                int hd = a[3].asInt();
                int[] rows = a[4].bits() == 0 ? range(0, gx) : ints(a[4].bits(), gx);
                float[] o = KernelReferences.attentionCombine(
                        floats(a[0].bits(), gx * heads * splits * (hd + 2)), gx, heads, hd, splits);
                int last = 0;
                for (int r : rows) {
                    last = Math.max(last, r);
                }
                float[] all = floats(a[5].bits(), (last + 1) * heads * hd);
                for (int i = 0; i < rows.length; i++) {
                    System.arraycopy(o, i * heads * hd, all, rows[i] * heads * hd, heads * hd);
                }
                put(a[5].bits(), all);
            }
            case "ts_sample_rows" -> {
                // grid: draws; each DRAW_INTS ints (row, temperature and min-p bits, u's high and low words, top-k,
                // top-p bits)
                int vocab = a[1].asInt();
                int[] d = ints(a[2].bits(), gx * CudaKernels.DRAW_INTS);
                int[] rows = new int[gx];
                float[] temperature = new float[gx];
                float[] minP = new float[gx];
                double[] u = new double[gx];
                int[] topK = new int[gx];
                float[] topP = new float[gx];
                int last = 0;
                for (int i = 0; i < gx; i++) {
                    int b = i * CudaKernels.DRAW_INTS;
                    rows[i] = d[b];
                    temperature[i] = Float.intBitsToFloat(d[b + 1]);
                    minP[i] = Float.intBitsToFloat(d[b + 2]);
                    u[i] = Double.longBitsToDouble(((long) d[b + 3] << 32) | (d[b + 4] & 0xffffffffL));
                    topK[i] = d[b + 5];
                    topP[i] = Float.intBitsToFloat(d[b + 6]);
                    last = Math.max(last, rows[i]);
                }
                int[] tokens = KernelReferences.sampleRows(
                        floats(a[0].bits(), (last + 1) * vocab), vocab, rows, temperature, minP, topK, topP, u);
                // a padding row (below 0) leaves its token as it was
                java.nio.IntBuffer out = at(a[3].bits()).asIntBuffer();
                for (int i = 0; i < gx; i++) {
                    if (rows[i] >= 0) {
                        out.put(i, tokens[i]);
                    }
                }
            }
            case "ts_gemm_bf16" -> {
                // grid (outputs / 128, tokens / 128): y = x w^T over bf16 w and x, as cuBLAS's reference
                int t = a[3].asInt();
                int n = a[4].asInt();
                int k = a[5].asInt();
                short[] xb = shorts(a[1].bits(), t * k);
                float[] xf = new float[xb.length];
                for (int i = 0; i < xb.length; i++) {
                    xf[i] = KernelReferences.bf(xb[i]);
                }
                put(a[2].bits(), KernelReferences.gemv(shorts(a[0].bits(), n * k), n, k, xf, t, null, null));
            }
            case "ts_prefill_attention" -> {
                // grid (tiles, heads): every row of each tile, as the row kernel would attend it (bf16 cache, no
                // window)
                int maxBlocks = a[4].asInt();
                int heads = a[7].asInt();
                int[] tiles = ints(a[6].bits(), 2 * gx);
                int count = 0;
                for (int i = 0; i < gx; i++) {
                    count += tiles[2 * i + 1];
                }
                int[] rows = new int[count];
                int at = 0;
                for (int i = 0; i < gx; i++) {
                    for (int j = 0; j < tiles[2 * i + 1]; j++) {
                        rows[at++] = tiles[2 * i] + j;
                    }
                }
                Arg[] rowArgs = {
                    a[0], a[1], a[2], a[3], a[4], a[5], a[7], a[8], Arg.i32(128), a[9], a[10], Arg.i32(0), a[11]
                };
                attendRows(rowArgs, rows, maxBlocks, heads, 128, false, 0, a[11].bits());
            }
            // the bandwidth probes: the read sums every 16-byte word into the sink (what it writes does not matter
            // to a caller, which only times it), the copy copies
            case "ts_probe_read" -> {
                ByteBuffer src = at(a[0].bits());
                long sum = 0;
                for (int i = 0; i < 4 * a[1].bits(); i++) {
                    sum += src.getInt(4 * i);
                }
                at(a[2].bits()).putLong(0, sum);
            }
            case "ts_probe_copy" -> {
                int bytes = Math.toIntExact(16 * a[2].bits());
                at(a[1].bits()).put(0, at(a[0].bits()), 0, bytes);
            }
            case "ts_random_bf16" ->
                put(a[0].bits(), KernelReferences.randomBf16(a[1].bits(), a[2].bits(), a[3].asFloat()));
            case "ts_lora_shrink" -> {
                // grid (slots + 1, rank chunks, projections): each projection's shrink, one after the other in tmp
                int k = a[1].asInt();
                int tokens = a[6].asInt();
                int maxRank = a[8].asInt();
                int slots = gx - 1;
                int[] tokenSlot = ints(a[5].bits(), tokens);
                int[] slotRank = ints(a[7].bits(), slots);
                float[] x = floats(a[0].bits(), tokens * k);
                for (int p = 0; p < gz; p++) {
                    put(
                            a[9].bits() + 4L * p * tokens * maxRank,
                            KernelReferences.loraShrink(
                                    x, k, shorts(a[2 + p].bits(), slots * maxRank * k), tokenSlot, slotRank, maxRank));
                }
            }
            case "ts_lora_expand" -> {
                // grid (slots, column blocks, projections); per projection (B, N, y, stride) from argument 2 on
                int tokens = a[1].asInt();
                int maxRank = a[17].asInt();
                int slots = gx;
                int[] tokenSlot = ints(a[14].bits(), tokens);
                int[] slotRank = ints(a[15].bits(), slots);
                float[] slotScale = floats(a[16].bits(), slots);
                for (int p = 0; p < gz; p++) {
                    int n = a[3 + 4 * p].asInt();
                    int stride = a[5 + 4 * p].asInt();
                    long yAt = a[4 + 4 * p].bits();
                    float[] y = floats(yAt, (tokens - 1) * stride + n);
                    KernelReferences.loraExpand(
                            floats(a[0].bits() + 4L * p * tokens * maxRank, tokens * maxRank),
                            shorts(a[2 + 4 * p].bits(), slots * n * maxRank),
                            tokenSlot,
                            slotRank,
                            slotScale,
                            maxRank,
                            n,
                            stride,
                            y,
                            0);
                    put(yAt, y);
                }
            }
            default -> throw new IllegalArgumentException("the emulation has no kernel " + name);
        }
    }

    private static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = 0; i < r.length; i++) {
            r[i] = from + i;
        }
        return r;
    }

    /**
     * The reference attention of {@code rows} (arguments laid out as ts_paged_attention's: q, caches, block tables,
     * max blocks, context lengths, heads, KV heads, head size, block size, scale), written into their rows of
     * {@code out}; the other rows of out are left as they are.
     */
    /** An attention launch's rows, gathered in launch order: q, block tables and context lengths. */
    private record Rows(float[] q, int[] tables, int[] lens, int total) {}

    /**
     * The q rows, block tables (argument 3) and context lengths (argument 5) of the attention arguments {@code a} for
     * {@code rows}, in their order; {@code total} is the rows up to the last one listed.
     */
    private Rows gather(Arg[] a, int[] rows, int maxBlocks, int heads, int hd) {
        int last = 0;
        for (int r : rows) {
            last = Math.max(last, r);
        }
        int total = last + 1;
        float[] q = floats(a[0].bits(), total * heads * hd);
        int[] tables = ints(a[3].bits(), total * maxBlocks);
        int[] lens = ints(a[5].bits(), total);
        float[] qs = new float[rows.length * heads * hd];
        int[] ts = new int[rows.length * maxBlocks];
        int[] ls = new int[rows.length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(q, rows[i] * heads * hd, qs, i * heads * hd, heads * hd);
            System.arraycopy(tables, rows[i] * maxBlocks, ts, i * maxBlocks, maxBlocks);
            ls[i] = lens[rows[i]];
        }
        return new Rows(qs, ts, ls, total);
    }

    private void attendRows(
            Arg[] a, int[] rows, int maxBlocks, int heads, int hd, boolean kvF32, int window, long out) {
        if (rows.length == 0) {
            return;
        }
        Rows g = gather(a, rows, maxBlocks, heads, hd);
        int total = g.total();
        float[] o = KernelReferences.pagedAttention(
                g.q(),
                cache(a[1].bits(), kvF32),
                cache(a[2].bits(), kvF32),
                g.tables(),
                maxBlocks,
                g.lens(),
                heads,
                a[7].asInt(),
                hd,
                a[9].asInt(),
                a[10].asFloat(),
                window);
        float[] all = floats(out, total * heads * hd);
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(o, i * heads * hd, all, rows[i] * heads * hd, heads * hd);
        }
        put(out, all);
    }

    @Override
    public void synchronize() {
        noCapture("a synchronize");
        applyCopies(Long.MAX_VALUE);
    }

    /** A KV cache's stored values, fp32 or bf16. */
    private float[] cache(long ptr, boolean kvF32) {
        return kvF32 ? floats(ptr, bytesFrom(ptr) / 4) : KernelReferences.cacheValues(shorts(ptr, bytesFrom(ptr) / 2));
    }

    private void putCache(long ptr, float[] values, boolean kvF32) {
        if (kvF32) {
            put(ptr, values);
        } else {
            put(ptr, KernelReferences.cacheBits(values));
        }
    }

    @Override
    public String describe() {
        return "emulated (host memory, Java references)";
    }

    @Override
    public String name() {
        return "emulated";
    }

    @Override
    public long memoryBytes() {
        return 1L << 30;
    }

    @Override
    public void close() {
        memory.clear();
    }
}
