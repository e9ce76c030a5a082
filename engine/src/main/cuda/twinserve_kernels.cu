// twinserve's CUDA kernels: one translation unit, compiled by scripts/cuda/build-kernels.sh into the fatbin the
// CUDA backend loads (sm_80 and sm_90 code, compute_90 PTX for newer GPUs). Every kernel is extern "C" so its
// name in the module is the one the Java side lists (CudaKernels.NAMES); a test checks the two agree.
//
// Conventions: weights are bf16, the KV cache bf16 or fp32 (kv_f32, one flag for the whole launch); the residual
// stream, activations, logits and every accumulation are fp32. Matrices are row-major; a linear layer's weight is [out][in], as in safetensors.
// The paged KV cache of a layer is [block][kv_head][slot_in_block][head_dim]. These kernels are written to be
// right first (issue 20); the fast paths (split-K attention, fused epilogues, graphs) come with issue 21.

#include <cuda_bf16.h>
#include <stdint.h>
#include <climits>

#define WARP 32

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    return v;
}

// one value of the KV cache, stored as bf16 or (kv_f32) fp32; the flag is the same for the whole launch, so the
// branch never diverges
__device__ __forceinline__ float kv_load(const void* cache, long long i, int kv_f32) {
    return kv_f32 ? ((const float*) cache)[i] : __bfloat162float(((const __nv_bfloat16*) cache)[i]);
}

__device__ __forceinline__ void kv_store(void* cache, long long i, float v, int kv_f32) {
    if (kv_f32) {
        ((float*) cache)[i] = v;
    } else {
        ((__nv_bfloat16*) cache)[i] = __float2bfloat16(v);
    }
}

// sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets the total
__device__ float block_sum(float v) {
    __shared__ float partial[WARP];
    int lane = threadIdx.x % WARP;
    int warp = threadIdx.x / WARP;
    v = warp_sum(v);
    if (lane == 0) {
        partial[warp] = v;
    }
    __syncthreads();
    int warps = blockDim.x / WARP;
    v = lane < warps ? partial[lane] : 0.0f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

// ---- probes: the device's read and copy bandwidth, measured in the same run as the engine ----

// reads n4 float4 values; the sum goes to sink[block] so the reads cannot be optimised away
extern "C" __global__ void ts_probe_read(const float4* __restrict__ src, long long n4, float* __restrict__ sink) {
    float acc = 0.0f;
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n4;
         i += (long long) gridDim.x * blockDim.x) {
        float4 v = src[i];
        acc += v.x + v.y + v.z + v.w;
    }
    acc = block_sum(acc);
    if (threadIdx.x == 0) {
        sink[blockIdx.x] = acc;
    }
}

extern "C" __global__ void ts_probe_copy(const float4* __restrict__ src, float4* __restrict__ dst, long long n4) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n4;
         i += (long long) gridDim.x * blockDim.x) {
        dst[i] = src[i];
    }
}

// ---- embedding, norms, activation ----

// out[t][:] = table[tokens[t]][:] as fp32; grid (tokens), any block size
extern "C" __global__ void ts_embed_gather(
        const __nv_bfloat16* __restrict__ table, const int* __restrict__ tokens, int hidden, float* __restrict__ out) {
    const __nv_bfloat16* row = table + (long long) tokens[blockIdx.x] * hidden;
    float* o = out + (long long) blockIdx.x * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        o[i] = __bfloat162float(row[i]);
    }
}

// One row per block: residual += x (when x is not null), then out = residual / rms(residual) * w, as fp32. With
// rows != null, block b works on row rows[b] of residual and x and writes row b of out (the final norm on the
// rows whose logits are wanted).
extern "C" __global__ void ts_add_rmsnorm(
        float* __restrict__ residual,
        const float* __restrict__ x,
        const __nv_bfloat16* __restrict__ w,
        const int* __restrict__ rows,
        int hidden,
        float eps,
        float* __restrict__ out) {
    int row = rows != nullptr ? rows[blockIdx.x] : blockIdx.x;
    float* r = residual + (long long) row * hidden;
    const float* xr = x != nullptr ? x + (long long) row * hidden : nullptr;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        float v = r[i];
        if (xr != nullptr) {
            v += xr[i];
            r[i] = v;
        }
        ss += v * v;
    }
    float inv = rsqrtf(block_sum(ss) / hidden + eps);
    float* o = out + (long long) blockIdx.x * hidden;
    for (int i = threadIdx.x; i < hidden; i += blockDim.x) {
        o[i] = r[i] * inv * __bfloat162float(w[i]);
    }
}

// gate_up rows are [gate (inter) | up (inter)]; out[t][i] = silu(gate[i]) * up[i]; grid (rows), any block size
extern "C" __global__ void ts_silu_mul(const float* __restrict__ gate_up, int inter, float* __restrict__ out) {
    const float* g = gate_up + (long long) blockIdx.x * 2 * inter;
    const float* u = g + inter;
    float* o = out + (long long) blockIdx.x * inter;
    for (int i = threadIdx.x; i < inter; i += blockDim.x) {
        float a = g[i];
        o[i] = a / (1.0f + __expf(-a)) * u[i];
    }
}

// out[i] = bf16(x[i]) for i < n: an fp32 activation as cuBLAS's bf16 GEMM input (prefill projections)
extern "C" __global__ void ts_to_bf16(const float* __restrict__ x, long long n, __nv_bfloat16* __restrict__ out) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < n; i += (long long) gridDim.x * blockDim.x) {
        out[i] = __float2bfloat16(x[i]);
    }
}

// y[i] += bias[i % n] for i < total: a linear layer's bias on rows a GEMM wrote (Qwen2's q/k/v; the GEMV adds it
// in its own epilogue); grid-stride, any grid and block size
extern "C" __global__ void ts_add_bias_rows(
        float* __restrict__ y, const __nv_bfloat16* __restrict__ bias, int n, long long total) {
    for (long long i = blockIdx.x * (long long) blockDim.x + threadIdx.x; i < total; i += (long long) gridDim.x * blockDim.x) {
        y[i] += __bfloat162float(bias[i % n]);
    }
}

// ---- linear layers ----

#define GEMV_MAX_TOKENS 8
// output rows per warp: the activations each lane loads serve this many weight rows, so that at 8 tokens their
// reads from L1 stay below what the weight stream needs (4 KB of x per 1 KB of weights instead of 8 KB)
#define GEMV_ROWS_PER_WARP 2

// eight bf16 (one 16-byte load) as floats
__device__ __forceinline__ void bf16x8_to_float(uint4 raw, float* f) {
    const __nv_bfloat162* p = reinterpret_cast<const __nv_bfloat162*>(&raw);
#pragma unroll
    for (int i = 0; i < 4; i++) {
        float2 v = __bfloat1622float2(p[i]);
        f[2 * i] = v.x;
        f[2 * i + 1] = v.y;
    }
}

// The GEMV's main loop: acc[r][t] = this lane's share of w[r][:] . x[t][:] for t < tokens <= 8 (the caller sums
// the warp's lanes). With vectors (K a multiple of 8, the rows and x 16-byte aligned) each lane reads 16 bytes of
// a row at a time and the matching 32 bytes of each token's x; otherwise one value at a time.
template <int ROWS>
__device__ __forceinline__ void gemv_lane_sums(
        const __nv_bfloat16* const (&w)[ROWS],
        int K,
        const float* __restrict__ x,
        int tokens,
        bool vectors,
        int lane,
        float (&acc)[ROWS][GEMV_MAX_TOKENS]) {
#pragma unroll
    for (int r = 0; r < ROWS; r++) {
#pragma unroll
        for (int t = 0; t < GEMV_MAX_TOKENS; t++) {
            acc[r][t] = 0.0f;
        }
    }
    if (vectors) {
        int chunks = K >> 3;
#pragma unroll 2
        for (int c = lane; c < chunks; c += WARP) {
            float wf[ROWS][8];
#pragma unroll
            for (int r = 0; r < ROWS; r++) {
                bf16x8_to_float(__ldg(reinterpret_cast<const uint4*>(w[r]) + c), wf[r]);
            }
#pragma unroll
            for (int t = 0; t < GEMV_MAX_TOKENS; t++) {
                if (t < tokens) {
                    const float4* xv = reinterpret_cast<const float4*>(x + (long long) t * K) + 2 * c;
                    float4 a = xv[0];
                    float4 b = xv[1];
#pragma unroll
                    for (int r = 0; r < ROWS; r++) {
                        float s = acc[r][t];
                        s = fmaf(wf[r][0], a.x, s);
                        s = fmaf(wf[r][1], a.y, s);
                        s = fmaf(wf[r][2], a.z, s);
                        s = fmaf(wf[r][3], a.w, s);
                        s = fmaf(wf[r][4], b.x, s);
                        s = fmaf(wf[r][5], b.y, s);
                        s = fmaf(wf[r][6], b.z, s);
                        s = fmaf(wf[r][7], b.w, s);
                        acc[r][t] = s;
                    }
                }
            }
        }
    } else {
        for (int k = lane; k < K; k += WARP) {
            float wk[ROWS];
#pragma unroll
            for (int r = 0; r < ROWS; r++) {
                wk[r] = __bfloat162float(w[r][k]);
            }
#pragma unroll
            for (int t = 0; t < GEMV_MAX_TOKENS; t++) {
                if (t < tokens) {
                    float xk = x[(long long) t * K + k];
#pragma unroll
                    for (int r = 0; r < ROWS; r++) {
                        acc[r][t] = fmaf(wk[r], xk, acc[r][t]);
                    }
                }
            }
        }
    }
}

// y[t][n] = W[n][:] . x[t][:] (+ bias[n]) (+ add[t][n]) for t < tokens <= 8: each warp owns GEMV_ROWS_PER_WARP
// consecutive output rows, every weight row read once for every token (the decode case, bound by the weight
// bytes). With K a multiple of 8 and W and x 16-byte aligned (every model's case) each lane reads 16 bytes of a
// row at a time (512 bytes per warp instruction, coalesced) and the matching 32 bytes of each token's x, which
// every warp of the SM shares through L1; otherwise one value at a time. Any block size that is a multiple of 32:
// blockDim.x / 32 * GEMV_ROWS_PER_WARP rows per block (256 threads: 16, CudaKernels.GEMV_ROWS_PER_BLOCK), grid
// ceil(N / rows per block). y may alias add (the residual add fused). With y1 not null the rows go to three
// outputs, as a fused q/k/v weight's do: rows [0, split1) to y ([tokens][split1]), [split1, split2) to y1
// ([tokens][split2 - split1]) and [split2, N) to y2 ([tokens][N - split2]); add must then be null.
extern "C" __global__ void ts_gemv_bf16(
        const __nv_bfloat16* __restrict__ W,
        int N,
        int K,
        const float* __restrict__ x,
        int tokens,
        const __nv_bfloat16* __restrict__ bias,
        const float* add,
        float* y,
        float* y1,
        float* y2,
        int split1,
        int split2) {
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int n0 = (blockIdx.x * (blockDim.x / WARP) + warp) * GEMV_ROWS_PER_WARP;
    if (n0 >= N) {
        return;
    }
    // a row past N (the last warp of an odd N) reads row N - 1 again; its sums are not written
    const __nv_bfloat16* w[GEMV_ROWS_PER_WARP];
#pragma unroll
    for (int r = 0; r < GEMV_ROWS_PER_WARP; r++) {
        w[r] = W + (long long) min(n0 + r, N - 1) * K;
    }
    float acc[GEMV_ROWS_PER_WARP][GEMV_MAX_TOKENS];
    bool vectors = (K & 7) == 0 && ((uintptr_t) W & 15) == 0 && ((uintptr_t) x & 15) == 0;
    gemv_lane_sums<GEMV_ROWS_PER_WARP>(w, K, x, tokens, vectors, lane, acc);
#pragma unroll
    for (int r = 0; r < GEMV_ROWS_PER_WARP; r++) {
        int n = n0 + r;
#pragma unroll
        for (int t = 0; t < GEMV_MAX_TOKENS; t++) {
            if (t < tokens) {
                float s = warp_sum(acc[r][t]);
                if (lane == 0 && n < N) {
                    if (bias != nullptr) {
                        s += __bfloat162float(bias[n]);
                    }
                    if (y1 == nullptr) {
                        long long at = (long long) t * N + n;
                        if (add != nullptr) {
                            s += add[at];
                        }
                        y[at] = s;
                    } else if (n < split1) {
                        y[(long long) t * split1 + n] = s;
                    } else if (n < split2) {
                        y1[(long long) t * (split2 - split1) + n - split1] = s;
                    } else {
                        y2[(long long) t * (N - split2) + n - split2] = s;
                    }
                }
            }
        }
    }
}

// act[t][n] = silu(g) * u with g = W[n][:] . x[t][:] and u = W[inter + n][:] . x[t][:] (the fused gate/up weight,
// [2 inter][K]) for n < inter and t < tokens <= 8: ts_gemv_bf16 with ts_silu_mul as its epilogue (the same
// silu, a / (1 + exp(-a)) * u), so that the gate/up products never go to memory and one launch a layer goes.
// Each warp owns GEMV_ROWS_PER_WARP gate rows and the up rows that pair with them, every weight row still read
// once; grid ceil(inter / (blockDim.x / 32 * GEMV_ROWS_PER_WARP)). Steps with adapters add their LoRA deltas to
// the gate/up products before the silu, so they run ts_gemv_bf16 and ts_silu_mul apart.
extern "C" __global__ void ts_gemv_silu_bf16(
        const __nv_bfloat16* __restrict__ W,
        int inter,
        int K,
        const float* __restrict__ x,
        int tokens,
        float* __restrict__ act) {
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int n0 = (blockIdx.x * (blockDim.x / WARP) + warp) * GEMV_ROWS_PER_WARP;
    if (n0 >= inter) {
        return;
    }
    // rows r < GEMV_ROWS_PER_WARP are gate rows n0 + r, the next as many their up rows (past inter: read again,
    // not written)
    const __nv_bfloat16* w[2 * GEMV_ROWS_PER_WARP];
#pragma unroll
    for (int r = 0; r < GEMV_ROWS_PER_WARP; r++) {
        int n = min(n0 + r, inter - 1);
        w[r] = W + (long long) n * K;
        w[GEMV_ROWS_PER_WARP + r] = W + (long long) (inter + n) * K;
    }
    float acc[2 * GEMV_ROWS_PER_WARP][GEMV_MAX_TOKENS];
    bool vectors = (K & 7) == 0 && ((uintptr_t) W & 15) == 0 && ((uintptr_t) x & 15) == 0;
    gemv_lane_sums<2 * GEMV_ROWS_PER_WARP>(w, K, x, tokens, vectors, lane, acc);
#pragma unroll
    for (int r = 0; r < GEMV_ROWS_PER_WARP; r++) {
        int n = n0 + r;
#pragma unroll
        for (int t = 0; t < GEMV_MAX_TOKENS; t++) {
            if (t < tokens) {
                float a = warp_sum(acc[r][t]);
                float u = warp_sum(acc[GEMV_ROWS_PER_WARP + r][t]);
                if (lane == 0 && n < inter) {
                    act[(long long) t * inter + n] = a / (1.0f + __expf(-a)) * u;
                }
            }
        }
    }
}

// ---- attention inputs: QK norm, RoPE, KV write ----

// For each token t (grid.x) and head h (grid.y, q heads then kv heads): optional per-head RMSNorm of q or k
// (Qwen3's q_norm / k_norm, weights of head_dim), then rotary embedding in the "rotate half" layout with the
// cos/sin tables of the token's position ([position][head_dim / 2], computed on the host as the CPU backend
// does), in place; k and v of token t then go to the cache at slot slot_mapping[t] (negative: not cached).
// One warp per (token, head); head_dim <= 256.
extern "C" __global__ void ts_qk_rope_kv_write(
        float* __restrict__ q,
        float* __restrict__ k,
        const float* __restrict__ v,
        const int* __restrict__ positions,
        const float* __restrict__ cos_table,
        const float* __restrict__ sin_table,
        const __nv_bfloat16* __restrict__ q_norm,
        const __nv_bfloat16* __restrict__ k_norm,
        float norm_eps,
        int n_heads,
        int n_kv_heads,
        int head_dim,
        const int* __restrict__ slot_mapping,
        void* __restrict__ k_cache,
        void* __restrict__ v_cache,
        int block_size,
        int kv_f32) {
    int t = blockIdx.x;
    int h = blockIdx.y;
    int lane = threadIdx.x;
    bool is_q = h < n_heads;
    int head = is_q ? h : h - n_heads;
    float* vec = is_q ? q + ((long long) t * n_heads + head) * head_dim : k + ((long long) t * n_kv_heads + head) * head_dim;
    const __nv_bfloat16* norm = is_q ? q_norm : k_norm;
    int half = head_dim / 2;
    float vals[8];
    int per = (head_dim + WARP - 1) / WARP;
    for (int j = 0; j < per; j++) {
        int d = lane + j * WARP;
        vals[j] = d < head_dim ? vec[d] : 0.0f;
    }
    if (norm != nullptr) {
        float ss = 0.0f;
        for (int j = 0; j < per; j++) {
            ss += vals[j] * vals[j];
        }
        float inv = rsqrtf(warp_sum(ss) / head_dim + norm_eps);
        for (int j = 0; j < per; j++) {
            int d = lane + j * WARP;
            if (d < head_dim) {
                vals[j] = vals[j] * inv * __bfloat162float(norm[d]);
            }
        }
    }
    for (int j = 0; j < per; j++) {
        int d = lane + j * WARP;
        if (d < head_dim) {
            vec[d] = vals[j];
        }
    }
    __syncwarp();
    const float* c = cos_table + (long long) positions[t] * half;
    const float* s = sin_table + (long long) positions[t] * half;
    float rotated[8];
    for (int j = 0; j < per; j++) {
        int d = lane + j * WARP;
        if (d < head_dim) {
            int i = d < half ? d : d - half;
            float other = d < half ? -vec[d + half] : vec[d - half];
            rotated[j] = vals[j] * c[i] + other * s[i];
        }
    }
    __syncwarp();
    for (int j = 0; j < per; j++) {
        int d = lane + j * WARP;
        if (d < head_dim) {
            vec[d] = rotated[j];
        }
    }
    if (is_q || slot_mapping == nullptr || slot_mapping[t] < 0) {
        return;
    }
    long long slot = slot_mapping[t];
    long long base = (((slot / block_size) * n_kv_heads + head) * block_size + slot % block_size) * head_dim;
    const float* vv = v + ((long long) t * n_kv_heads + head) * head_dim;
    for (int j = 0; j < per; j++) {
        int d = lane + j * WARP;
        if (d < head_dim) {
            kv_store(k_cache, base + d, rotated[j], kv_f32);
            kv_store(v_cache, base + d, vv[d], kv_f32);
        }
    }
}

// ---- attention over the paged cache ----

// PER consecutive values of a cached K or V row starting at element i (i a multiple of PER), as floats: one 2-,
// 4-, 8- or 16-byte load for bf16 (PER 1, 2, 4, 8), one to two 16-byte loads for fp32
template <int PER>
__device__ __forceinline__ void kv_load_vec(const void* cache, long long i, int kv_f32, float* out) {
    if (kv_f32) {
        const float* c = (const float*) cache + i;
        if (PER == 1) {
            out[0] = c[0];
        } else if (PER == 2) {
            float2 v = *reinterpret_cast<const float2*>(c);
            out[0] = v.x;
            out[1] = v.y;
        } else {
#pragma unroll
            for (int j = 0; j < PER; j += 4) {
                float4 v = *reinterpret_cast<const float4*>(c + j);
                out[j] = v.x;
                out[j + 1] = v.y;
                out[j + 2] = v.z;
                out[j + 3] = v.w;
            }
        }
    } else {
        const __nv_bfloat16* c = (const __nv_bfloat16*) cache + i;
        if (PER == 1) {
            out[0] = __bfloat162float(c[0]);
        } else if (PER == 2) {
            float2 v = __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(c));
            out[0] = v.x;
            out[1] = v.y;
        } else if (PER == 4) {
            uint2 raw = *reinterpret_cast<const uint2*>(c);
            const __nv_bfloat162* p = reinterpret_cast<const __nv_bfloat162*>(&raw);
            float2 a = __bfloat1622float2(p[0]);
            float2 b = __bfloat1622float2(p[1]);
            out[0] = a.x;
            out[1] = a.y;
            out[2] = b.x;
            out[3] = b.y;
        } else {
            bf16x8_to_float(*reinterpret_cast<const uint4*>(c), out);
        }
    }
}

// positions of a row one warp scores per round: their K loads are in flight together
#define ATTENTION_ROUND 8

// What one warp's attention for one (row, q head) reads and writes: its q vector and output row, the caches and
// the row's block table, and the positions [start, len) it attends to. With part_acc set (a split of split-K
// attention) it writes its unnormalised sums there and (running max, running sum) to part_ml instead of o.
struct RowAttention {
    const float* qv;
    const void* k_cache;
    const void* v_cache;
    const int* table;
    int kv_head;
    int n_kv_heads;
    int head_dim;
    int block_size;
    float scale;
    int start;
    int len;
    float* o;
    int kv_f32;
    float* part_acc;
    float* part_ml;
};

// A split's result: the unnormalised accumulator (relative to its running max) and (max, sum), for
// ts_attention_combine
__device__ __forceinline__ bool write_partial(const RowAttention& r, const float* acc, int per, float max, float sum) {
    if (r.part_acc == nullptr) {
        return false;
    }
    int lane = threadIdx.x % WARP;
    for (int j = 0; j < per; j++) {
        r.part_acc[lane * per + j] = acc[j];
    }
    if (lane == 0) {
        r.part_ml[0] = max;
        r.part_ml[1] = sum;
    }
    return true;
}

// One warp attends for one (row, q head) with head_dim = 32 * PER: lane l holds dimensions [l * PER, (l + 1) *
// PER) of q and of the output. Per round of ATTENTION_ROUND positions it loads each position's K row (the warp
// together reads the whole row, coalesced), reduces the dot products across the warp, updates the online softmax
// once, then adds the V rows (read the same way).
template <int PER>
__device__ void attend_row(const RowAttention& r) {
    int lane = threadIdx.x % WARP;
    float qr[PER];
    float acc[PER];
#pragma unroll
    for (int j = 0; j < PER; j++) {
        qr[j] = r.qv[lane * PER + j] * r.scale;
        acc[j] = 0.0f;
    }
    float running_max = -INFINITY;
    float running_sum = 0.0f;
    for (int round = r.start; round < r.len; round += ATTENTION_ROUND) {
        float score[ATTENTION_ROUND];
        long long base[ATTENTION_ROUND];
#pragma unroll
        for (int i = 0; i < ATTENTION_ROUND; i++) {
            int pos = round + i;
            score[i] = -INFINITY;
            base[i] = 0;
            if (pos < r.len) {
                base[i] = (((long long) r.table[pos / r.block_size] * r.n_kv_heads + r.kv_head) * r.block_size + pos % r.block_size)
                        * r.head_dim;
                float kr[PER];
                kv_load_vec<PER>(r.k_cache, base[i] + lane * PER, r.kv_f32, kr);
                float dot = 0.0f;
#pragma unroll
                for (int j = 0; j < PER; j++) {
                    dot = fmaf(qr[j], kr[j], dot);
                }
                score[i] = dot;
            }
        }
        float round_max = -INFINITY;
#pragma unroll
        for (int i = 0; i < ATTENTION_ROUND; i++) {
            // (a position past r.len scores -inf on every lane; its sum stays -inf)
            score[i] = warp_sum(score[i]);
            round_max = fmaxf(round_max, score[i]);
        }
        float new_max = fmaxf(running_max, round_max);
        float correction = running_max == -INFINITY ? 0.0f : __expf(running_max - new_max);
        running_sum *= correction;
#pragma unroll
        for (int j = 0; j < PER; j++) {
            acc[j] *= correction;
        }
#pragma unroll
        for (int i = 0; i < ATTENTION_ROUND; i++) {
            if (round + i < r.len) {
                float p = __expf(score[i] - new_max);
                running_sum += p;
                float vr[PER];
                kv_load_vec<PER>(r.v_cache, base[i] + lane * PER, r.kv_f32, vr);
#pragma unroll
                for (int j = 0; j < PER; j++) {
                    acc[j] = fmaf(p, vr[j], acc[j]);
                }
            }
        }
        running_max = new_max;
    }
    if (write_partial(r, acc, PER, running_max, running_sum)) {
        return;
    }
    float inv = running_sum > 0.0f ? 1.0f / running_sum : 0.0f;
#pragma unroll
    for (int j = 0; j < PER; j++) {
        r.o[lane * PER + j] = acc[j] * inv;
    }
}

// Any head_dim up to 256: lane l holds dimensions l, l + 32, ... (one value per load), each lane scoring its own
// position of a chunk of 32 (the first kernel's algorithm, kept for head sizes that are not 32, 64, 128 or 256)
__device__ void attend_row_any(const RowAttention& r) {
    int lane = threadIdx.x % WARP;
    int per = (r.head_dim + WARP - 1) / WARP;
    float acc[8];
    for (int j = 0; j < 8; j++) {
        acc[j] = 0.0f;
    }
    float running_max = -INFINITY;
    float running_sum = 0.0f;
    for (int chunk = r.start; chunk < r.len; chunk += WARP) {
        int pos = chunk + lane;
        float score = -INFINITY;
        long long base = 0;
        if (pos < r.len) {
            base = (((long long) r.table[pos / r.block_size] * r.n_kv_heads + r.kv_head) * r.block_size + pos % r.block_size)
                    * r.head_dim;
            float dot = 0.0f;
            for (int d = 0; d < r.head_dim; d++) {
                dot += r.qv[d] * kv_load(r.k_cache, base + d, r.kv_f32);
            }
            score = dot * r.scale;
        }
        float chunk_max = warp_max(score);
        float new_max = fmaxf(running_max, chunk_max);
        float correction = running_max == -INFINITY ? 0.0f : __expf(running_max - new_max);
        float p = pos < r.len ? __expf(score - new_max) : 0.0f;
        running_sum = running_sum * correction + warp_sum(p);
        for (int j = 0; j < per; j++) {
            acc[j] *= correction;
        }
        int valid = min(WARP, r.len - chunk);
        for (int i = 0; i < valid; i++) {
            float pi = __shfl_sync(0xffffffffu, p, i);
            long long bi = __shfl_sync(0xffffffffu, base, i);
            for (int j = 0; j < per; j++) {
                int d = lane + j * WARP;
                if (d < r.head_dim) {
                    acc[j] += pi * kv_load(r.v_cache, bi + d, r.kv_f32);
                }
            }
        }
        running_max = new_max;
    }
    if (r.part_acc != nullptr) {
        // this layout's lane holds dimensions lane, lane + 32, ...
        for (int j = 0; j < per; j++) {
            int d = lane + j * WARP;
            if (d < r.head_dim) {
                r.part_acc[d] = acc[j];
            }
        }
        if (lane == 0) {
            r.part_ml[0] = running_max;
            r.part_ml[1] = running_sum;
        }
        return;
    }
    float inv = running_sum > 0.0f ? 1.0f / running_sum : 0.0f;
    for (int j = 0; j < per; j++) {
        int d = lane + j * WARP;
        if (d < r.head_dim) {
            r.o[d] = acc[j] * inv;
        }
    }
}

// The attention of one (row, q head) by the warp's layout for its head size
__device__ __forceinline__ void attend(const RowAttention& ra) {
    switch (ra.head_dim) {
        case 32:
            attend_row<1>(ra);
            break;
        case 64:
            attend_row<2>(ra);
            break;
        case 128:
            attend_row<4>(ra);
            break;
        case 256:
            attend_row<8>(ra);
            break;
        default:
            attend_row_any(ra);
    }
}

// The block of launch row blockIdx.x (row row_list[blockIdx.x], or blockIdx.x when row_list is null) and KV head
// blockIdx.y: each q head of the group attends to the row's positions [start, len) into out, or, with part set,
// to the blockIdx.z-th of gridDim.z equal runs of them (whole KV blocks each), its partials into part (see
// ts_paged_attention_split).
__device__ __forceinline__ void paged_attention_block(
        const float* __restrict__ q,
        const void* __restrict__ k_cache,
        const void* __restrict__ v_cache,
        const int* __restrict__ block_tables,
        int max_blocks,
        const int* __restrict__ context_lens,
        int n_heads,
        int n_kv_heads,
        int head_dim,
        int block_size,
        float scale,
        int sliding_window,
        float* __restrict__ out,
        float* __restrict__ part,
        int kv_f32,
        const int* __restrict__ row_list) {
    int i = blockIdx.x;
    int r = row_list != nullptr ? row_list[i] : i;
    int kv_head = blockIdx.y;
    int group = n_heads / n_kv_heads;
    int len = context_lens[r];
    int start = sliding_window > 0 && len > sliding_window ? len - sliding_window : 0;
    int from = start;
    int to = len;
    int split = blockIdx.z;
    int splits = gridDim.z;
    if (part != nullptr) {
        int chunk = (len - start + splits - 1) / splits;
        chunk = (chunk + block_size - 1) / block_size * block_size;
        from = min(len, start + split * chunk);
        to = min(len, from + chunk);
    }
    const int* table = block_tables + (long long) r * max_blocks;
    for (int g = threadIdx.x / WARP; g < group; g += blockDim.x / WARP) {
        int h = kv_head * group + g;
        const float* qv = q + ((long long) r * n_heads + h) * head_dim;
        float* o = part != nullptr ? nullptr : out + ((long long) r * n_heads + h) * head_dim;
        // an empty run scores nothing: max -inf, sum 0, which the combine weighs at 0
        float* acc = part != nullptr ? part + (((long long) i * n_heads + h) * splits + split) * (head_dim + 2) : nullptr;
        RowAttention ra = {qv, k_cache, v_cache, table, kv_head, n_kv_heads, head_dim, block_size, scale, from, to, o,
                           kv_f32, acc, acc != nullptr ? acc + head_dim : nullptr};
        attend(ra);
    }
}

// Row r (row_list[grid.x], or grid.x when row_list is null: the rows a prefill tile of ts_prefill_attention does not
// cover) attends to the first context_lens[r] positions of its sequence (so a prefill row's causal mask
// is its own length), through block_tables[r][:] of max_blocks entries, skipping positions before
// context_lens[r] - sliding_window when sliding_window > 0. Grid (rows, n_kv_heads): a block serves the q heads
// that share KV head blockIdx.y (grouped-query attention), one warp per q head in turn (blockDim.x = 32 * the
// group's size runs them all at once), so that those warps read the same K and V rows and L1 serves all but the
// first. Online softmax in fp32. Works for decode and for prefill (ts_prefill_attention takes prefill tiles on
// tensor cores; ts_paged_attention_split takes steps of few rows over long contexts).
extern "C" __global__ void ts_paged_attention(
        const float* __restrict__ q,
        const void* __restrict__ k_cache,
        const void* __restrict__ v_cache,
        const int* __restrict__ block_tables,
        int max_blocks,
        const int* __restrict__ context_lens,
        int n_heads,
        int n_kv_heads,
        int head_dim,
        int block_size,
        float scale,
        int sliding_window,
        float* __restrict__ out,
        int kv_f32,
        const int* __restrict__ row_list) {
    paged_attention_block(q, k_cache, v_cache, block_tables, max_blocks, context_lens, n_heads, n_kv_heads, head_dim,
                          block_size, scale, sliding_window, out, nullptr, kv_f32, row_list);
}

// Split-K (FlashDecoding) paged attention for steps of few rows over long contexts, where a block per (row, KV
// head) would leave most SMs idle: grid (rows, n_kv_heads, splits), the block of split s attending, as
// ts_paged_attention's would, to the s-th of gridDim.z equal runs of the row's positions [start, len) (whole KV
// blocks each; the last may be shorter or empty). It writes the q heads' unnormalised sums and (max, sum) to
// part[((i * n_heads + h) * splits + s) * (head_dim + 2)], i the launch's row index, for ts_attention_combine.
// The same arguments as ts_paged_attention, with the partials' buffer in place of out.
extern "C" __global__ void ts_paged_attention_split(
        const float* __restrict__ q,
        const void* __restrict__ k_cache,
        const void* __restrict__ v_cache,
        const int* __restrict__ block_tables,
        int max_blocks,
        const int* __restrict__ context_lens,
        int n_heads,
        int n_kv_heads,
        int head_dim,
        int block_size,
        float scale,
        int sliding_window,
        float* __restrict__ part,
        int kv_f32,
        const int* __restrict__ row_list) {
    paged_attention_block(q, k_cache, v_cache, block_tables, max_blocks, context_lens, n_heads, n_kv_heads, head_dim,
                          block_size, scale, sliding_window, nullptr, part, kv_f32, row_list);
}

// The splits of ts_paged_attention_split into each (row, q head)'s output: grid (rows, n_heads), any block size
// (threads over head_dim). out = sum_s acc_s e^(m_s - M) / sum_s l_s e^(m_s - M) with M the largest m_s, 0 where
// no split scored a position; written at row row_list[i] (i when row_list is null), as ts_paged_attention writes.
extern "C" __global__ void ts_attention_combine(
        const float* __restrict__ part,
        int splits,
        int n_heads,
        int head_dim,
        const int* __restrict__ row_list,
        float* __restrict__ out) {
    int i = blockIdx.x;
    int h = blockIdx.y;
    int r = row_list != nullptr ? row_list[i] : i;
    int stride = head_dim + 2;
    const float* base = part + ((long long) i * n_heads + h) * splits * stride;
    float m = -INFINITY;
    for (int s = 0; s < splits; s++) {
        m = fmaxf(m, base[s * stride + head_dim]);
    }
    float total = 0.0f;
    for (int s = 0; s < splits; s++) {
        float ms = base[s * stride + head_dim];
        if (ms != -INFINITY) {
            total += base[s * stride + head_dim + 1] * __expf(ms - m);
        }
    }
    float inv = total > 0.0f ? 1.0f / total : 0.0f;
    float* o = out + ((long long) r * n_heads + h) * head_dim;
    for (int d = threadIdx.x; d < head_dim; d += blockDim.x) {
        float a = 0.0f;
        for (int s = 0; s < splits; s++) {
            float ms = base[s * stride + head_dim];
            if (ms != -INFINITY) {
                a = fmaf(base[s * stride + d], __expf(ms - m), a);
            }
        }
        o[d] = a * inv;
    }
}

// ---- prefill attention on tensor cores ----

// c += a * b for one m16n8k16 tile: a 16 x 16 bf16 (four registers of two), b 16 x 8 bf16 (two), c 16 x 8 fp32.
// Fragments as the PTX ISA lays them out, with g = lane / 4 and q = lane % 4: a's registers hold (row g, columns
// 2q, 2q + 1), (row g + 8, the same), (row g, 2q + 8, 2q + 9), (row g + 8, the same); b's hold (rows 2q, 2q + 1 of
// column g) and (rows 2q + 8, 2q + 9); c holds (row g, columns 2q, 2q + 1) then (row g + 8, the same). The lower
// index of a pair is the register's low half.
__device__ __forceinline__ void mma_bf16_16816(float* c, const uint32_t* a, uint32_t b0, uint32_t b1) {
    asm volatile(
            "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, "
            "{%0, %1, %2, %3};\n"
            : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
            : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

__device__ __forceinline__ uint32_t pack_bf16x2(float lo, float hi) {
    __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
    return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t pack_bf16_pair(__nv_bfloat16 lo, __nv_bfloat16 hi) {
    return (uint32_t) __bfloat16_as_ushort(lo) | ((uint32_t) __bfloat16_as_ushort(hi) << 16);
}

#define PREFILL_HEAD_DIM 128

// Prefill attention, FlashAttention-2 style, on a bf16 cache with head_dim 128: one warp per (tile, q head) (grid
// tiles x n_heads, block 32). A tile is up to 16 consecutive rows of one sequence (tiles[2 * i]: its first row,
// tiles[2 * i + 1]: how many), row j attending causally to the first context_lens[first] + j positions through the
// first row's block table. Q (scaled) is held as bf16 fragments; per 16 cached positions the warp computes S = Q
// K^T with 16 mma (K's rows read straight from the paged cache as b fragments: two adjacent values a load), masks
// it, updates each row's online softmax across its quad, and adds P V with 16 more (P, rounded to bf16, is the a
// fragment of the same registers). Accumulation in fp32; outputs within bf16's precision of the exact ones. The
// rows no tile covers (decode rows) go through ts_paged_attention.
extern "C" __global__ void ts_prefill_attention(
        const float* __restrict__ q,
        const __nv_bfloat16* __restrict__ k_cache,
        const __nv_bfloat16* __restrict__ v_cache,
        const int* __restrict__ block_tables,
        int max_blocks,
        const int* __restrict__ context_lens,
        const int* __restrict__ tiles,
        int n_heads,
        int n_kv_heads,
        int block_size,
        float scale,
        float* __restrict__ out) {
    int lane = threadIdx.x % WARP;
    int g = lane >> 2;
    int tq = lane & 3;
    int first = tiles[2 * blockIdx.x];
    int rows = tiles[2 * blockIdx.x + 1];
    int h = blockIdx.y;
    int kv_head = h / (n_heads / n_kv_heads);
    const int* table = block_tables + (long long) first * max_blocks;
    // row j attends to positions < len0 + j; the tile's keys run to its last row's length
    int len0 = context_lens[first];
    int keys = len0 + rows - 1;

    uint32_t qa[PREFILL_HEAD_DIM / 16][4];
    {
        const float* q0 = q + ((long long) first * n_heads + h) * PREFILL_HEAD_DIM;
        long long row_stride = (long long) n_heads * PREFILL_HEAD_DIM;
#pragma unroll
        for (int kc = 0; kc < PREFILL_HEAD_DIM / 16; kc++) {
#pragma unroll
            for (int r = 0; r < 4; r++) {
                int row = g + ((r & 1) ? 8 : 0);
                int col = kc * 16 + tq * 2 + ((r & 2) ? 8 : 0);
                float lo = 0.0f;
                float hi = 0.0f;
                if (row < rows) {
                    const float* qr = q0 + row * row_stride + col;
                    lo = qr[0] * scale;
                    hi = qr[1] * scale;
                }
                qa[kc][r] = pack_bf16x2(lo, hi);
            }
        }
    }
    float o[PREFILL_HEAD_DIM / 8][4];
#pragma unroll
    for (int n = 0; n < PREFILL_HEAD_DIM / 8; n++) {
        o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;
    }
    // per row of this thread (g, then g + 8): the running max and sum
    float m[2] = {-INFINITY, -INFINITY};
    float l[2] = {0.0f, 0.0f};

    for (int kb = 0; kb < keys; kb += 16) {
        // S for keys kb .. kb + 15, two tiles of 8: this thread's b column is key kb + 8 * nt + g
        float s[2][4];
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
            s[nt][0] = s[nt][1] = s[nt][2] = s[nt][3] = 0.0f;
            int pos = kb + 8 * nt + g;
            const __nv_bfloat16* krow = nullptr;
            if (pos < keys) {
                krow = k_cache
                        + (((long long) table[pos / block_size] * n_kv_heads + kv_head) * block_size + pos % block_size)
                                * PREFILL_HEAD_DIM;
            }
#pragma unroll
            for (int kc = 0; kc < PREFILL_HEAD_DIM / 16; kc++) {
                uint32_t b0 = 0;
                uint32_t b1 = 0;
                if (krow != nullptr) {
                    b0 = *reinterpret_cast<const uint32_t*>(krow + kc * 16 + tq * 2);
                    b1 = *reinterpret_cast<const uint32_t*>(krow + kc * 16 + 8 + tq * 2);
                }
                mma_bf16_16816(s[nt], qa[kc], b0, b1);
            }
        }
        // the causal mask (and the rows past the tile, and the keys past the last row's length)
#pragma unroll
        for (int nt = 0; nt < 2; nt++) {
#pragma unroll
            for (int e = 0; e < 4; e++) {
                int row = g + (e >= 2 ? 8 : 0);
                int key = kb + 8 * nt + tq * 2 + (e & 1);
                if (row >= rows || key >= len0 + row) {
                    s[nt][e] = -INFINITY;
                }
            }
        }
        // online softmax per row, over the quad that holds it
        float p[2][4];
#pragma unroll
        for (int half = 0; half < 2; half++) {
            float mx = fmaxf(fmaxf(s[0][2 * half], s[0][2 * half + 1]), fmaxf(s[1][2 * half], s[1][2 * half + 1]));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 1));
            mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, 2));
            float new_m = fmaxf(m[half], mx);
            float correction = m[half] == -INFINITY ? 0.0f : __expf(m[half] - new_m);
            float sum = 0.0f;
#pragma unroll
            for (int nt = 0; nt < 2; nt++) {
#pragma unroll
                for (int e = 0; e < 2; e++) {
                    float v = s[nt][2 * half + e];
                    float pv = v == -INFINITY ? 0.0f : __expf(v - new_m);
                    p[nt][2 * half + e] = pv;
                    sum += pv;
                }
            }
            sum += __shfl_xor_sync(0xffffffffu, sum, 1);
            sum += __shfl_xor_sync(0xffffffffu, sum, 2);
            l[half] = l[half] * correction + sum;
#pragma unroll
            for (int n = 0; n < PREFILL_HEAD_DIM / 8; n++) {
                o[n][2 * half] *= correction;
                o[n][2 * half + 1] *= correction;
            }
            m[half] = new_m;
        }
        // P as an a fragment: keys kb + 2q, +1 of tile 0 then kb + 8 + 2q, +1 of tile 1, rows g and g + 8
        uint32_t pa[4];
        pa[0] = pack_bf16x2(p[0][0], p[0][1]);
        pa[1] = pack_bf16x2(p[0][2], p[0][3]);
        pa[2] = pack_bf16x2(p[1][0], p[1][1]);
        pa[3] = pack_bf16x2(p[1][2], p[1][3]);
        // V's b fragments: keys kb + 2q, +1 (b0) and kb + 8 + 2q, +1 (b1) of dimension 8 n + g
        long long vbase[4];
#pragma unroll
        for (int i = 0; i < 4; i++) {
            int key = kb + tq * 2 + (i & 1) + ((i & 2) ? 8 : 0);
            vbase[i] = key < keys
                    ? (((long long) table[key / block_size] * n_kv_heads + kv_head) * block_size + key % block_size)
                            * PREFILL_HEAD_DIM
                    : -1;
        }
        const __nv_bfloat16 zero = __float2bfloat16(0.0f);
#pragma unroll
        for (int n = 0; n < PREFILL_HEAD_DIM / 8; n++) {
            int d = 8 * n + g;
            __nv_bfloat16 v0 = vbase[0] >= 0 ? v_cache[vbase[0] + d] : zero;
            __nv_bfloat16 v1 = vbase[1] >= 0 ? v_cache[vbase[1] + d] : zero;
            __nv_bfloat16 v2 = vbase[2] >= 0 ? v_cache[vbase[2] + d] : zero;
            __nv_bfloat16 v3 = vbase[3] >= 0 ? v_cache[vbase[3] + d] : zero;
            mma_bf16_16816(o[n], pa, pack_bf16_pair(v0, v1), pack_bf16_pair(v2, v3));
        }
    }
#pragma unroll
    for (int half = 0; half < 2; half++) {
        int row = g + 8 * half;
        if (row < rows) {
            float inv = l[half] > 0.0f ? 1.0f / l[half] : 0.0f;
            float* orow = out + ((long long) (first + row) * n_heads + h) * PREFILL_HEAD_DIM;
#pragma unroll
            for (int n = 0; n < PREFILL_HEAD_DIM / 8; n++) {
                orow[8 * n + tq * 2] = o[n][2 * half] * inv;
                orow[8 * n + tq * 2 + 1] = o[n][2 * half + 1] * inv;
            }
        }
    }
}

// ---- random weights ----

// out[i] = bf16(scale * u) with u uniform in [-1, 1) from 24 bits of splitmix64(seed + (i + 1) * golden gamma): a
// counter-based generator, so a value depends on (seed, i) alone, whatever the grid, and the host reproduces it
// bit for bit (KernelReferences.randomBf16). Fills a model's weights on the device without reading any file.
extern "C" __global__ void ts_random_bf16(__nv_bfloat16* __restrict__ out, long long n, unsigned long long seed, float scale) {
    long long stride = (long long) gridDim.x * blockDim.x;
    for (long long i = (long long) blockIdx.x * blockDim.x + threadIdx.x; i < n; i += stride) {
        unsigned long long z = seed + (unsigned long long) (i + 1) * 0x9E3779B97F4A7C15ull;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z = z ^ (z >> 31);
        // k / 2^23 - 1 is exact in fp32 for k < 2^24, so only the product with scale rounds, as on the host
        float u = __fsub_rn(__fmul_rn((float) (z >> 40), 1.0f / 8388608.0f), 1.0f);
        out[i] = __float2bfloat16_rn(__fmul_rn(u, scale));
    }
}

// ---- multi-LoRA, grouped by slot ----

// tokens a block lists per pass (in shared memory)
#define LORA_TOKENS_PER_PASS 256

// The tokens t in [from, from + count) with token_slot[t] == slot, into list (shared memory, in no particular
// order; each token's sums are its own). Every thread of the block must call it: it synchronises the block.
__device__ int slot_tokens(const int* __restrict__ token_slot, int from, int count, int slot, int* list) {
    __shared__ int found;
    if (threadIdx.x == 0) {
        found = 0;
    }
    __syncthreads();
    for (int i = threadIdx.x; i < count; i += blockDim.x) {
        if (token_slot[from + i] == slot) {
            list[atomicAdd(&found, 1)] = from + i;
        }
    }
    __syncthreads();
    int n = found;
    // before the next pass resets it
    __syncthreads();
    return n;
}

// shrink, for up to three projections that read the same input (q, k and v; gate and up; or one):
// tmp[p][t][j] = A_p[slot][j][:] . x[t][:] for the tokens of each slot, j < max_rank (0 from rank[slot] on).
// A_p holds every slot at max_rank rows of K: [slot][max_rank][K]; tmp is [projection][tokens][max_rank].
// Grid (slots + 1, ceil(max_rank / warps per block), projections): a block per slot lists that slot's tokens and
// a warp per j reads A's row once from memory and, through L1, for each of them (an adapter's weights are read
// once per step however many of the step's tokens use it); the last block of x writes zeros for the tokens
// without an adapter (token_slot < 0). Block of 256 threads: 8 warps, so grid.y = ceil(max_rank / 8).
extern "C" __global__ void ts_lora_shrink(
        const float* __restrict__ x,
        int K,
        const __nv_bfloat16* __restrict__ A0,
        const __nv_bfloat16* __restrict__ A1,
        const __nv_bfloat16* __restrict__ A2,
        const int* __restrict__ token_slot,
        int tokens,
        const int* __restrict__ slot_rank,
        int max_rank,
        float* __restrict__ tmp) {
    __shared__ int list[LORA_TOKENS_PER_PASS];
    int slots = gridDim.x - 1;
    int block = blockIdx.x;
    // (signed: blockIdx.x's unsigned type would make the -1 of the base model's block unsigned)
    int slot = block < slots ? block : -1;
    int p = blockIdx.z;
    const __nv_bfloat16* A = p == 0 ? A0 : p == 1 ? A1 : A2;
    int j = blockIdx.y * (blockDim.x / WARP) + threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int rank = slot >= 0 ? slot_rank[slot] : 0;
    float* out = tmp + (long long) p * tokens * max_rank;
    const __nv_bfloat16* a = A + ((long long) max(slot, 0) * max_rank + min(j, max_rank - 1)) * K;
    bool vectors = (K & 7) == 0 && ((uintptr_t) A & 15) == 0 && ((uintptr_t) x & 15) == 0;
    for (int from = 0; from < tokens; from += LORA_TOKENS_PER_PASS) {
        int n = slot_tokens(token_slot, from, min(LORA_TOKENS_PER_PASS, tokens - from), slot, list);
        if (j >= max_rank) {
            continue;
        }
        for (int i = 0; i < n; i++) {
            int t = list[i];
            float s = 0.0f;
            if (j < rank) {
                const float* xt = x + (long long) t * K;
                if (vectors) {
                    const uint4* a8 = reinterpret_cast<const uint4*>(a);
                    const float4* x4 = reinterpret_cast<const float4*>(xt);
                    for (int c = lane; c < (K >> 3); c += WARP) {
                        float w[8];
                        bf16x8_to_float(__ldg(a8 + c), w);
                        float4 u = x4[2 * c];
                        float4 v = x4[2 * c + 1];
                        s = fmaf(w[0], u.x, s);
                        s = fmaf(w[1], u.y, s);
                        s = fmaf(w[2], u.z, s);
                        s = fmaf(w[3], u.w, s);
                        s = fmaf(w[4], v.x, s);
                        s = fmaf(w[5], v.y, s);
                        s = fmaf(w[6], v.z, s);
                        s = fmaf(w[7], v.w, s);
                    }
                } else {
                    for (int k = lane; k < K; k += WARP) {
                        s = fmaf(__bfloat162float(a[k]), xt[k], s);
                    }
                }
                s = warp_sum(s);
            }
            if (lane == 0) {
                out[(long long) t * max_rank + j] = s;
            }
        }
    }
}

// expand, for up to three projections (their shrinks' tmp, as ts_lora_shrink writes it): y_p[t * stride_p + n] +=
// scale[slot] * B_p[slot][n][:rank] . tmp[p][t][:rank] for n < N_p and the tokens of each slot; B_p is
// [slot][N_p][max_rank]. A stride lets an output be one projection's columns of a fused row (gate or up). Grid
// (slots, ceil(max N_p / blockDim.x), projections), a thread per output column n: its row of B is read once from
// memory and, through L1, for each of the slot's tokens. Tokens without an adapter are left as they are.
extern "C" __global__ void ts_lora_expand(
        const float* __restrict__ tmp,
        int tokens,
        const __nv_bfloat16* __restrict__ B0,
        int N0,
        float* y0,
        int stride0,
        const __nv_bfloat16* __restrict__ B1,
        int N1,
        float* y1,
        int stride1,
        const __nv_bfloat16* __restrict__ B2,
        int N2,
        float* y2,
        int stride2,
        const int* __restrict__ token_slot,
        const int* __restrict__ slot_rank,
        const float* __restrict__ slot_scale,
        int max_rank) {
    __shared__ int list[LORA_TOKENS_PER_PASS];
    int slot = blockIdx.x;
    int p = blockIdx.z;
    const __nv_bfloat16* B = p == 0 ? B0 : p == 1 ? B1 : B2;
    int N = p == 0 ? N0 : p == 1 ? N1 : N2;
    float* y = p == 0 ? y0 : p == 1 ? y1 : y2;
    int stride = p == 0 ? stride0 : p == 1 ? stride1 : stride2;
    int n = blockIdx.y * blockDim.x + threadIdx.x;
    int rank = slot_rank[slot];
    float scale = slot_scale[slot];
    const float* tp = tmp + (long long) p * tokens * max_rank;
    const __nv_bfloat16* b = B + ((long long) slot * N + min(n, N - 1)) * max_rank;
    for (int from = 0; from < tokens; from += LORA_TOKENS_PER_PASS) {
        int count = slot_tokens(token_slot, from, min(LORA_TOKENS_PER_PASS, tokens - from), slot, list);
        if (n >= N) {
            continue;
        }
        for (int i = 0; i < count; i++) {
            int t = list[i];
            // every thread of the warp reads the same tmp values: one broadcast load each
            const float* tt = tp + (long long) t * max_rank;
            float s = 0.0f;
            for (int j = 0; j < rank; j++) {
                s = fmaf(__bfloat162float(b[j]), tt[j], s);
            }
            y[(long long) t * stride + n] += scale * s;
        }
    }
}

// ---- sampling on the device ----

#define SAMPLE_THREADS 512

#define SAMPLE_WARPS (SAMPLE_THREADS / WARP)

// Block-wide reductions and scans of ts_sample_rows, written here rather than with CUB: CUB brings libcu++,
// whose internal symbols carry a hash of the source file's absolute path, so the fatbin would differ from one
// checkout to another and could not be rebuilt byte for byte (CudaKernelArtifactsTest). Each takes a scratch of
// SAMPLE_WARPS entries in shared memory, returns the same result to every thread (the block's threads must all
// call it) and adds in a fixed order, so a draw does not depend on timing.
__device__ __forceinline__ double block_sum(double v, double* scratch) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        v += __shfl_xor_sync(0xffffffffu, v, o);
    }
    __syncthreads();
    if (threadIdx.x % WARP == 0) {
        scratch[threadIdx.x / WARP] = v;
    }
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < SAMPLE_WARPS; w++) {
        total += scratch[w];
    }
    return total;
}

__device__ __forceinline__ int block_max(int v, int* scratch) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        v = max(v, __shfl_xor_sync(0xffffffffu, v, o));
    }
    __syncthreads();
    if (threadIdx.x % WARP == 0) {
        scratch[threadIdx.x / WARP] = v;
    }
    __syncthreads();
    int m = INT_MIN;
    for (int w = 0; w < SAMPLE_WARPS; w++) {
        m = max(m, scratch[w]);
    }
    return m;
}

// the larger logit wins, the lower id on ties (the host sampler's argmax); returns the winner's id, its logit in *top
__device__ __forceinline__ int block_argmax(float v, int id, float* values, int* ids, float* top) {
    for (int o = WARP / 2; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(0xffffffffu, v, o);
        int oid = __shfl_xor_sync(0xffffffffu, id, o);
        if (ov > v || (ov == v && oid < id)) {
            v = ov;
            id = oid;
        }
    }
    __syncthreads();
    if (threadIdx.x % WARP == 0) {
        values[threadIdx.x / WARP] = v;
        ids[threadIdx.x / WARP] = id;
    }
    __syncthreads();
    float best = values[0];
    int best_id = ids[0];
    for (int w = 1; w < SAMPLE_WARPS; w++) {
        if (values[w] > best || (values[w] == best && ids[w] < best_id)) {
            best = values[w];
            best_id = ids[w];
        }
    }
    *top = best;
    return best_id;
}

// The sum of v over the threads before this one (in thread order), and over all of them in *total
__device__ __forceinline__ double block_exclusive_sum(double v, double* scratch, double* total) {
    int lane = threadIdx.x % WARP;
    double inclusive = v;
    for (int o = 1; o < WARP; o <<= 1) {
        double up = __shfl_up_sync(0xffffffffu, inclusive, o);
        if (lane >= o) {
            inclusive += up;
        }
    }
    __syncthreads();
    if (lane == WARP - 1) {
        scratch[threadIdx.x / WARP] = inclusive;
    }
    __syncthreads();
    double before = inclusive - v;
    double all = 0.0;
    for (int w = 0; w < SAMPLE_WARPS; w++) {
        if (w < threadIdx.x / WARP) {
            before += scratch[w];
        }
        all += scratch[w];
    }
    *total = all;
    return before;
}

// A float's order as an int: keys compare as their floats do (both zeros alike; no NaN expected)
__device__ __forceinline__ int order_key(float f) {
    if (f == 0.0f) {
        return 0;
    }
    int k = __float_as_int(f);
    return k >= 0 ? k : k ^ 0x7fffffff;
}

// The block-wide helpers of ts_sample_rows: each thread owns the contiguous run [from, to) of the row
struct SampleRow {
    const float* l;
    int from;
    int to;
    float max;
    float inv;
    float floor;
    // top-k: keys above k_key are in, and those equal to it up to id k_id (k_id = INT_MAX: no top-k)
    int k_key;
    int k_id;
    // top-p: the same bound over the top-k's members (p_id = INT_MAX: no top-p)
    int p_key;
    int p_id;

    __device__ __forceinline__ bool in_top_k(int key, int j) const {
        return k_id == INT_MAX || key > k_key || (key == k_key && j <= k_id);
    }

    __device__ __forceinline__ bool in_top_p(int key, int j) const {
        return p_id == INT_MAX || key > p_key || (key == p_key && j <= p_id);
    }

    // the numerator of token j among the top-k (0 below min-p or outside)
    __device__ __forceinline__ float numerator(float v, int key, int j) const {
        float scaled = (v - max) * inv;
        return !in_top_k(key, j) || scaled < floor ? 0.0f : expf(scaled);
    }
};

// Tokens whose key is at least x (block-wide, the same in every thread)
__device__ __forceinline__ double count_from(const SampleRow& r, int x, double* scratch) {
    double n = 0.0;
    for (int j = r.from; j < r.to; j++) {
        n += order_key(r.l[j]) >= x ? 1.0 : 0.0;
    }
    return block_sum(n, scratch);
}

// The top-k's numerators of the tokens whose key is at least x (block-wide, the same in every thread)
__device__ __forceinline__ double mass_from(const SampleRow& r, int x, double* scratch) {
    double m = 0.0;
    for (int j = r.from; j < r.to; j++) {
        float v = r.l[j];
        int key = order_key(v);
        if (key >= x) {
            m += r.numerator(v, key, j);
        }
    }
    return block_sum(m, scratch);
}

// Draws row draws[8 * i] of logits ([rows][vocab], fp32) for draw i (grid: draws, block SAMPLE_THREADS), as the
// host sampler draws a row without penalties or bias: at temperature 0 the argmax (lowest id on ties); otherwise
// the numerators exp((logit - max) / T), 0 below min-p (ln(min_p) before the exp), over the top-k tokens (logit
// descending, then id) and within them the top-p head (the fewest best-ranked whose numerators reach top_p of
// theirs), and the first token of that set, in id order, whose running sum exceeds u times the set's (the last
// token that can be drawn when rounding leaves u a hair above). Each draw is 8 ints: the row, the temperature's
// and min-p's float bits, u's double bits (high word, then low), top-k (0: none), top-p's float bits (1: none) and
// one unused; a row below 0 is a decode graph's padding, skipped (its token left as it was). u comes from the
// request's own seeded stream on the host, so a seeded request draws what its host draw would, up to the order
// of the sums. The top-k and top-p bounds are found by bisecting the logits' order
// (32 block-wide counts or sums each, only for rows that ask), ties split by id with a block-wide scan; each
// thread owns a contiguous run of the vocabulary. The block-wide reductions and scans are written out (above).
extern "C" __global__ void __launch_bounds__(SAMPLE_THREADS, 1) ts_sample_rows(
        const float* __restrict__ logits, int vocab, const int* __restrict__ draws, int* __restrict__ tokens) {
    __shared__ double scratch[SAMPLE_WARPS];
    __shared__ float scratch_values[SAMPLE_WARPS];
    __shared__ int scratch_ids[SAMPLE_WARPS];
    __shared__ int drawn;
    __shared__ int found;
    const int* d = draws + 8 * blockIdx.x;
    if (d[0] < 0) {
        // a decode graph's padding row: nothing to draw, its token is left as it was
        return;
    }
    const float* l = logits + (long long) d[0] * vocab;
    float temperature = __int_as_float(d[1]);
    float min_p = __int_as_float(d[2]);
    double u = __hiloint2double(d[3], d[4]);
    int top_k = d[5];
    float top_p = __int_as_float(d[6]);
    int t = threadIdx.x;
    float mine = -INFINITY;
    int mine_id = INT_MAX;
    for (int j = t; j < vocab; j += SAMPLE_THREADS) {
        float v = l[j];
        if (v > mine || (v == mine && j < mine_id)) {
            mine = v;
            mine_id = j;
        }
    }
    float top;
    int top_id = block_argmax(mine, mine_id, scratch_values, scratch_ids, &top);
    if (top_id == INT_MAX || isnan(l[0])) {
        // the host's argmax starts from token 0 and takes only a larger logit: a NaN there (or every logit NaN)
        // leaves token 0, never an id outside the vocabulary
        top_id = 0;
        top = l[0];
    }
    if (temperature <= 0.0f || top_k == 1) {
        if (t == 0) {
            tokens[blockIdx.x] = top_id;
        }
        return;
    }
    int chunk = (vocab + SAMPLE_THREADS - 1) / SAMPLE_THREADS;
    SampleRow r;
    r.l = l;
    r.from = min(vocab, t * chunk);
    r.to = min(vocab, r.from + chunk);
    r.max = top;
    r.inv = 1.0f / temperature;
    r.floor = min_p > 0.0f ? logf(min_p) : -INFINITY;
    r.k_key = INT_MIN;
    r.k_id = INT_MAX;
    r.p_key = INT_MIN;
    r.p_id = INT_MAX;
    int max_key = order_key(top);
    if (top_k > 0 && top_k < vocab) {
        // the largest key with at least top_k tokens at or above it
        int lo = INT_MIN;
        int hi = max_key;
        while (lo < hi) {
            int mid = (int) (((long long) lo + hi + 1) >> 1);
            if (count_from(r, mid, scratch) >= (double) top_k) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        double above = lo == INT_MAX ? 0.0 : count_from(r, lo + 1, scratch);
        // the ties at the bound take the lowest ids up to top_k: find the (top_k - above)-th tie in id order
        double ties = 0.0;
        for (int j = r.from; j < r.to; j++) {
            ties += order_key(l[j]) == lo ? 1.0 : 0.0;
        }
        double all;
        double before = block_exclusive_sum(ties, scratch, &all);
        if (t == 0) {
            found = INT_MAX;
        }
        __syncthreads();
        double want = (double) top_k - above;
        if (ties > 0.0 && want > before && want <= before + ties) {
            double n = before;
            for (int j = r.from; j < r.to; j++) {
                if (order_key(l[j]) == lo && ++n >= want) {
                    atomicMin(&found, j);
                    break;
                }
            }
        }
        __syncthreads();
        r.k_key = lo;
        r.k_id = found;
        __syncthreads();
    }
    if (top_p < 1.0f) {
        double target = (double) top_p * mass_from(r, INT_MIN, scratch);
        // the largest key whose tokens at or above it hold the target
        int lo = INT_MIN;
        int hi = max_key;
        while (lo < hi) {
            int mid = (int) (((long long) lo + hi + 1) >> 1);
            if (mass_from(r, mid, scratch) >= target) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        double above = lo == INT_MAX ? 0.0 : mass_from(r, lo + 1, scratch);
        // the ties at the bound, in id order, until the target is reached
        double ties = 0.0;
        for (int j = r.from; j < r.to; j++) {
            float v = l[j];
            int key = order_key(v);
            if (key == lo) {
                ties += r.numerator(v, key, j);
            }
        }
        double all;
        double before = block_exclusive_sum(ties, scratch, &all);
        if (t == 0) {
            found = INT_MAX;
        }
        __syncthreads();
        double need = target - above;
        if (need <= 0.0) {
            // a top-p of 0: the best-ranked token alone, the first tie in id order
            for (int j = r.from; j < r.to; j++) {
                if (order_key(l[j]) == lo) {
                    atomicMin(&found, j);
                    break;
                }
            }
        } else if (ties > 0.0 && need > before && need <= before + ties) {
            double acc = before;
            for (int j = r.from; j < r.to; j++) {
                float v = l[j];
                int key = order_key(v);
                if (key == lo) {
                    acc += r.numerator(v, key, j);
                    if (acc >= need) {
                        // rounding may let two neighbouring runs both reach it: the lower id wins
                        atomicMin(&found, j);
                        break;
                    }
                }
            }
        }
        __syncthreads();
        r.p_key = lo;
        // no tie reaches it (rounding): every tie is in, INT_MAX - 1 (INT_MAX would mean no top-p at all)
        r.p_id = found == INT_MAX ? INT_MAX - 1 : found;
        __syncthreads();
    }
    double run = 0.0;
    int last = -1;
    for (int j = r.from; j < r.to; j++) {
        float v = l[j];
        int key = order_key(v);
        float p = r.in_top_p(key, j) ? r.numerator(v, key, j) : 0.0f;
        run += p;
        if (p > 0.0f) {
            last = j;
        }
    }
    double total;
    double before = block_exclusive_sum(run, scratch, &total);
    int last_drawable = block_max(last, scratch_ids);
    if (t == 0) {
        drawn = INT_MAX;
    }
    __syncthreads();
    double target = u * total;
    if (run > 0.0 && target >= before && target < before + run) {
        double acc = before;
        for (int j = r.from; j < r.to; j++) {
            float v = l[j];
            int key = order_key(v);
            float p = r.in_top_p(key, j) ? r.numerator(v, key, j) : 0.0f;
            acc += p;
            if (target < acc) {
                // the scan's rounding may let two neighbouring runs both hold the target: the lower id wins
                atomicMin(&drawn, j);
                break;
            }
        }
    }
    __syncthreads();
    if (t == 0) {
        tokens[blockIdx.x] = drawn != INT_MAX ? drawn : last_drawable < 0 ? top_id : last_drawable;
    }
}

// ---- linear layers on tensor cores (where cuBLAS is not found) ----

#define GEMM_BM 128
#define GEMM_BN 128
#define GEMM_BK 32
#define GEMM_THREADS 256
// a shared-memory row of a tile: GEMM_BK bf16 and 8 of padding (80 bytes), so that the 8 rows an ldmatrix reads
// fall in 8 different 16-byte bank groups
#define GEMM_LD (GEMM_BK + 8)

// 16 bytes from global to shared memory without passing through registers; src_bytes 0 fills the 16 bytes with
// zeros (a row or column past the matrix's edge)
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
    unsigned s = (unsigned) __cvta_generic_to_shared(smem);
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(s), "l"(gmem), "r"(src_bytes));
}

__device__ __forceinline__ void ldmatrix_x4(uint32_t* r, const void* smem) {
    unsigned s = (unsigned) __cvta_generic_to_shared(smem);
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(s));
}

// Y[t][n] = sum_k X[t][k] W[n][k] for t < T, n < N: a prefill step's linear layer (bf16 X and W, fp32
// accumulation and Y), the backend's own when cuBLAS is not found. A block computes a 128 x 128 tile of Y (grid
// ceil(N / 128) x ceil(T / 128), GEMM_THREADS threads): its 8 warps 2 x 4, each 64 rows x 32 outputs in mma.sync
// m16n8k16 tiles from fragments ldmatrix reads out of shared memory, where cp.async brings the next 32 columns of
// X and W while the current ones are multiplied (two stages). K must be a multiple of 8 and X and W 16-byte
// aligned (every model's case; the backend checks and keeps the GEMV otherwise).
extern "C" __global__ void __launch_bounds__(GEMM_THREADS) ts_gemm_bf16(
        const __nv_bfloat16* __restrict__ w,
        const __nv_bfloat16* __restrict__ x,
        float* __restrict__ y,
        int T,
        int N,
        int K) {
    __shared__ __align__(16) __nv_bfloat16 as[2][GEMM_BM][GEMM_LD];
    __shared__ __align__(16) __nv_bfloat16 bs[2][GEMM_BN][GEMM_LD];
    int n0 = blockIdx.x * GEMM_BN;
    int t0 = blockIdx.y * GEMM_BM;
    int warp = threadIdx.x / WARP;
    int lane = threadIdx.x % WARP;
    int wm = (warp / 4) * 64;
    int wn = (warp % 4) * 32;
    float acc[4][4][4];
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
#pragma unroll
            for (int c = 0; c < 4; c++) {
                acc[i][j][c] = 0.0f;
            }
        }
    }
    int tiles = (K + GEMM_BK - 1) / GEMM_BK;
    // each thread brings 2 of a tile's 512 16-byte chunks of X and 2 of W: chunk c is row c / 4, columns 8 (c % 4)
    auto load = [&](int stage, int kt) {
        int k0 = kt * GEMM_BK;
#pragma unroll
        for (int i = 0; i < 2; i++) {
            int c = threadIdx.x + i * GEMM_THREADS;
            int row = c / 4;
            int col = (c % 4) * 8;
            bool kin = k0 + col < K;
            int t = t0 + row;
            int n = n0 + row;
            cp_async16(&as[stage][row][col], kin && t < T ? x + (long long) t * K + k0 + col : x, kin && t < T ? 16 : 0);
            cp_async16(&bs[stage][row][col], kin && n < N ? w + (long long) n * K + k0 + col : w, kin && n < N ? 16 : 0);
        }
        asm volatile("cp.async.commit_group;\n" ::);
    };
    load(0, 0);
    for (int kt = 0; kt < tiles; kt++) {
        int stage = kt & 1;
        if (kt + 1 < tiles) {
            load(stage ^ 1, kt + 1);
            asm volatile("cp.async.wait_group 1;\n" ::);
        } else {
            asm volatile("cp.async.wait_group 0;\n" ::);
        }
        __syncthreads();
#pragma unroll
        for (int kk = 0; kk < GEMM_BK; kk += 16) {
            uint32_t a[4][4];
            uint32_t b[4][2];
#pragma unroll
            for (int i = 0; i < 4; i++) {
                // lanes 0-15: rows 0-15 at column kk, lanes 16-31: the same rows at kk + 8
                ldmatrix_x4(a[i], &as[stage][wm + i * 16 + (lane % 16)][kk + (lane / 16) * 8]);
            }
#pragma unroll
            for (int j = 0; j < 4; j += 2) {
                // two n8 tiles: lanes 0-7 rows n..n+7 at kk, 8-15 the same at kk + 8, 16-31 rows n+8..n+15 likewise
                uint32_t r[4];
                ldmatrix_x4(r, &bs[stage][wn + j * 8 + (lane / 16) * 8 + (lane % 8)][kk + ((lane / 8) % 2) * 8]);
                b[j][0] = r[0];
                b[j][1] = r[1];
                b[j + 1][0] = r[2];
                b[j + 1][1] = r[3];
            }
#pragma unroll
            for (int i = 0; i < 4; i++) {
#pragma unroll
                for (int j = 0; j < 4; j++) {
                    mma_bf16_16816(acc[i][j], a[i], b[j][0], b[j][1]);
                }
            }
        }
        __syncthreads();
    }
    // c holds (row g, columns 2q and 2q + 1) and (row g + 8, the same) of each 16 x 8 tile
    int g = lane / 4;
    int q = lane % 4;
#pragma unroll
    for (int i = 0; i < 4; i++) {
#pragma unroll
        for (int j = 0; j < 4; j++) {
            int n = n0 + wn + j * 8 + 2 * q;
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int t = t0 + wm + i * 16 + g + h * 8;
                if (t < T) {
                    if (n < N) {
                        y[(long long) t * N + n] = acc[i][j][2 * h];
                    }
                    if (n + 1 < N) {
                        y[(long long) t * N + n + 1] = acc[i][j][2 * h + 1];
                    }
                }
            }
        }
    }
}
