// attnviz — tiled FlashAttention forward kernels and the attention-weights kernel.
//
// Compiled at run time by cupy.RawModule (NVRTC); one module per (dtype, head dim, variant),
// chosen with -D defines built by attnviz.backends.cupy_backend.compile_options():
//
//   ATTNVIZ_DTYPE     0 = float32 (SIMT kernel), 1 = float16, 2 = bfloat16 (tensor-core kernel)
//   ATTNVIZ_HEAD_DIM  32, 64 or 128
//   ATTNVIZ_VARIANT   0 = forward: O and the log-sum-exp  (kernel "attnviz_flash_fwd")
//                     1 = weights: P from the saved lse   (kernel "attnviz_attn_weights")
//
// The file includes no header at all (NVRTC ships none of the C library, and has no INFINITY):
// half / bfloat16 values are handled as raw 16-bit patterns and converted with PTX cvt.
// Needs sm_80 or newer (cp.async, ldmatrix, mma.sync m16n8k16 with bf16).
//
// References: Dao et al., "FlashAttention" (2022) and "FlashAttention-2" (2023); Milakov &
// Gimelshein, "Online normalizer calculation for softmax" (2018).
//
// ---------------------------------------------------------------------------------------------
// The algorithm, side by side with the readable NumPy twin (attnviz/core/flash.py)
// ---------------------------------------------------------------------------------------------
//
//   NumPy reference (natural log)                    | this file (one thread block = one Q tile)
//   -------------------------------------------------+------------------------------------------
//   for each Q tile (rows q0 .. q0+BM-1):            | blockIdx.x -> q0; blockIdx.y -> query head
//                                                    | h, kv head h / (Hq/Hkv); blockIdx.z -> b
//     m = -inf; l = 0; acc = 0                       | same, in registers (m per row; l as per-
//                                                    | thread partial sums, added up at the end)
//     for each K tile not fully masked:              | key range [k_begin, k_end) from the window,
//                                                    | causal limit and kv_len; tiles outside it
//                                                    | are never loaded
//       s = q_tile @ k_tile.T * (scale/temperature)  | s2 = (q . k) * scale/temperature * log2(e)
//                                                    | (base 2: exp2f is one SFU instruction;
//                                                    | exp(x) == exp2(x log2 e), so every number
//                                                    | below is the reference's times log2 e)
//       s[masked] = -inf                             | same; only in tiles that straddle an edge
//       m_new = max(m, rowmax(s))                    | rowmax over the thread's columns, then
//                                                    | __shfl_xor across the lanes of the row
//       p = exp(s - m_new)                           | p = exp2(s2 - m_new)   (m_new = -inf is
//       alpha = exp(m - m_new)                       | alpha = exp2(m - m_new) replaced by 0 so
//                                                    | that all-masked rows give 0, not NaN)
//       l = l * alpha + rowsum(p)                    | same
//       acc = acc * alpha + p @ v_tile               | same (tensor cores: p rounded to the
//                                                    | input dtype first, as FlashAttention-2)
//       m = m_new                                    | same
//     O = acc / l ; lse = m + log(l)                 | lse = (m2 + log2 l) * ln 2   (natural log)
//     rows with l == 0: O = 0, lse = -inf            | same
//
// flash.py may pin m at 0 when Cauchy-Schwarz bounds every logit (saves NumPy a pass); the kernel
// always keeps the true running max, which costs it almost nothing.
//
// Weights (return_weights=True): P[i, j] = exp(logit_ij - lse_i), 0 where masked or lse_i = -inf.
// Recomputing s from Q and K is cheaper than ever storing the L x S scores in the forward pass.
//
// Masks. A key j is visible to query i iff
//     j < kv_len[b]  and  i - win_left <= j <= i + win_right
// The caller folds causal into win_right (causal = top-left aligned, j <= i, as torch) and passes
// +-(L + S) for an unlimited side, so nothing here overflows a 32-bit int.
//
// Kernel designs
//   fp32, SIMT      256 threads as 16 x 16; BM = 64 query rows, BN = 64 keys (32 for d = 128).
//                   Thread (ty, tx) owns rows ty + 16 r (r < 4) and score columns tx + 16 c and
//                   output columns [tx d/16, (tx+1) d/16). Shared memory (floats, rows padded by 4
//                   so float4 reads are bank-conflict free): Q[BM][d+4], K[BN][d+4], V[BN][d+4],
//                   P[BM][BN+4] -> 45,056 / 69,632 / 76,800 bytes for d = 32 / 64 / 128.
//   fp16 / bf16,    128 threads = 4 warps, FlashAttention-2 style: each warp owns 16 query rows;
//   tensor cores    BM = 64, BN = 64. Q fragments live in registers for the whole K loop; S = Q K^T
//                   and O += P V with mma.sync.m16n8k16 (fp32 accumulate); the S accumulator is
//                   re-packed in registers as the A operand of P V. Shared memory (16-bit, rows
//                   padded by 8 so ldmatrix is conflict free): Q[64][d+8], K[64][d+8],
//                   V[64][d+8] -> 15,360 / 27,648 / 52,224 bytes.
//   Both forward kernels use cp.async: V(t) is fetched while S(t) is computed, K(t+1) while
//   P(t) V(t) is accumulated. Rows past L or S are zero-filled, never read.
//   weights         256 threads; a 64 x 64 tile of P per block; Q, K converted to float in
//                   shared memory: 2 * 64 * (d+4) * 4 = 18,432 / 34,816 / 67,584 bytes.
//   Blocks above 48 KiB of shared memory need the opt-in attribute, which the caller sets.

#ifndef ATTNVIZ_DTYPE
#error "define ATTNVIZ_DTYPE (0 float32, 1 float16, 2 bfloat16)"
#endif
#ifndef ATTNVIZ_HEAD_DIM
#error "define ATTNVIZ_HEAD_DIM (32, 64 or 128)"
#endif
#ifndef ATTNVIZ_VARIANT
#error "define ATTNVIZ_VARIANT (0 forward, 1 weights)"
#endif
#if ATTNVIZ_HEAD_DIM != 32 && ATTNVIZ_HEAD_DIM != 64 && ATTNVIZ_HEAD_DIM != 128
#error "ATTNVIZ_HEAD_DIM must be 32, 64 or 128"
#endif
#if ATTNVIZ_DTYPE < 0 || ATTNVIZ_DTYPE > 2
#error "ATTNVIZ_DTYPE must be 0, 1 or 2"
#endif

constexpr int HD = ATTNVIZ_HEAD_DIM;

// -inf and friends without <math.h>; NVRTC has no INFINITY macro.
#define ATTNVIZ_NEG_INF __int_as_float(0xff800000)
#define ATTNVIZ_LOG2E 1.4426950408889634f
#define ATTNVIZ_LN2 0.6931471805599453f

#if ATTNVIZ_DTYPE == 0
typedef float elem_t;
#else
typedef unsigned short elem_t;  // raw bits of an IEEE half or a bfloat16
#endif

// ------------------------------------------------------------------------------------------
// Small helpers
// ------------------------------------------------------------------------------------------

__device__ __forceinline__ unsigned smem_u32(const void* p) {
    return static_cast<unsigned>(__cvta_generic_to_shared(p));
}

// 16-byte global -> shared copy; src_bytes = 0 writes zeros and reads nothing.
__device__ __forceinline__ void cp_async16(void* smem, const void* gmem, int src_bytes) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n"
                 :
                 : "r"(smem_u32(smem)), "l"(gmem), "r"(src_bytes)
                 : "memory");
}
__device__ __forceinline__ void cp_async_commit() {
    asm volatile("cp.async.commit_group;\n" ::: "memory");
}
template <int N>
__device__ __forceinline__ void cp_async_wait() {
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N) : "memory");
}

// ROWS x HD elements (global row stride HD) -> shared memory with row stride SSTRIDE elements.
// Rows >= valid_rows are zero-filled, so padding keys carry no NaN into 0 * V.
template <int ROWS, int SSTRIDE, int NTHREADS>
__device__ __forceinline__ void cp_tile(elem_t* smem, const elem_t* gmem, int valid_rows, int tid) {
    constexpr int PER_CHUNK = 16 / static_cast<int>(sizeof(elem_t));
    constexpr int CPR = HD / PER_CHUNK;  // 16-byte chunks per row
    constexpr int TOTAL = ROWS * CPR;
    static_assert(TOTAL % NTHREADS == 0, "tile copy must divide evenly over the block");
#pragma unroll
    for (int it = 0; it < TOTAL / NTHREADS; ++it) {
        const int idx = tid + it * NTHREADS;
        const int row = idx / CPR;
        const int ch = idx - row * CPR;
        const bool ok = row < valid_rows;
        const elem_t* src = ok ? gmem + static_cast<long long>(row) * HD + ch * PER_CHUNK : gmem;
        cp_async16(smem + row * SSTRIDE + ch * PER_CHUNK, src, ok ? 16 : 0);
    }
}

__device__ __forceinline__ bool key_visible(int i, int j, int kv_len, int win_left,
                                            int win_right) {
    return j < kv_len && j >= i - win_left && j <= i + win_right;
}

// Keys that any row of [q0, q_last] can see: [*k_begin, *k_end).
__device__ __forceinline__ void key_range(int q0, int q_last, int kv_len, int win_left,
                                          int win_right, int* k_begin, int* k_end) {
    *k_begin = max(0, q0 - win_left);
    *k_end = min(kv_len, q_last + win_right + 1);
}

// True when some element of the tile rows [q0, q_last] x keys [kt, kt + bn) may be masked.
__device__ __forceinline__ bool tile_needs_mask(int q0, int q_last, int kt, int bn, int kv_len,
                                                int win_left, int win_right) {
    return kt + bn > kv_len || kt < q_last - win_left || kt + bn - 1 > q0 + win_right;
}

#if ATTNVIZ_DTYPE == 0
__device__ __forceinline__ float4 load4_as_float(const float* p) {
    return *reinterpret_cast<const float4*>(p);
}
#else
__device__ __forceinline__ float bits_to_float(unsigned short h) {
#if ATTNVIZ_DTYPE == 1
    float f;
    asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
    return f;
#else
    return __uint_as_float(static_cast<unsigned>(h) << 16);
#endif
}
__device__ __forceinline__ float4 load4_as_float(const unsigned short* p) {
    const uint2 raw = *reinterpret_cast<const uint2*>(p);
    return make_float4(bits_to_float(static_cast<unsigned short>(raw.x & 0xffffu)),
                       bits_to_float(static_cast<unsigned short>(raw.x >> 16)),
                       bits_to_float(static_cast<unsigned short>(raw.y & 0xffffu)),
                       bits_to_float(static_cast<unsigned short>(raw.y >> 16)));
}
// Two floats -> packed pair (lo in the low 16 bits), round to nearest even.
__device__ __forceinline__ unsigned pack2(float lo, float hi) {
    unsigned r;
#if ATTNVIZ_DTYPE == 1
    asm("cvt.rn.f16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#else
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
#endif
    return r;
}
#endif

#if ATTNVIZ_DTYPE == 0 || ATTNVIZ_VARIANT == 1
// ------------------------------------------------------------------------------------------
// SIMT score micro-tile, shared by the fp32 forward kernel and the weights kernel.
// Thread (ty, tx) of a 16 x 16 block: s[r][c] = Q[ty + 16 r] . K[tx + 16 c] over HD.
// Shared rows have stride HD + 4 floats: float4 reads of 8 consecutive rows hit 8 distinct
// 16-byte bank groups.
// ------------------------------------------------------------------------------------------
constexpr int SIMT_DS = HD + 4;

template <int SC>
__device__ __forceinline__ void qk_microtile(const float* Qs, const float* Ks, int ty, int tx,
                                             float (&s)[4][SC]) {
#pragma unroll
    for (int r = 0; r < 4; ++r)
#pragma unroll
        for (int c = 0; c < SC; ++c) s[r][c] = 0.f;
#pragma unroll 8
    for (int d = 0; d < HD; d += 4) {
        float4 a[4], b[SC];
#pragma unroll
        for (int r = 0; r < 4; ++r)
            a[r] = *reinterpret_cast<const float4*>(Qs + (ty + 16 * r) * SIMT_DS + d);
#pragma unroll
        for (int c = 0; c < SC; ++c)
            b[c] = *reinterpret_cast<const float4*>(Ks + (tx + 16 * c) * SIMT_DS + d);
#pragma unroll
        for (int r = 0; r < 4; ++r)
#pragma unroll
            for (int c = 0; c < SC; ++c) {
                s[r][c] = fmaf(a[r].x, b[c].x, s[r][c]);
                s[r][c] = fmaf(a[r].y, b[c].y, s[r][c]);
                s[r][c] = fmaf(a[r].z, b[c].z, s[r][c]);
                s[r][c] = fmaf(a[r].w, b[c].w, s[r][c]);
            }
    }
}
#endif  // SIMT micro-tile

#if ATTNVIZ_VARIANT == 0 && ATTNVIZ_DTYPE == 0
// ==========================================================================================
// fp32 forward, SIMT
// ==========================================================================================
constexpr int F_BM = 64;
constexpr int F_BN = HD == 128 ? 32 : 64;
constexpr int F_SC = F_BN / 16;  // score columns per thread
constexpr int F_NV = HD / 16;    // output columns per thread
constexpr int F_PS = F_BN + 4;   // P row stride (floats)
constexpr int F_THREADS = 256;

template <int N>
struct FloatVec;
template <>
struct FloatVec<2> {
    static __device__ __forceinline__ void load(const float* p, float* out) {
        const float2 v = *reinterpret_cast<const float2*>(p);
        out[0] = v.x;
        out[1] = v.y;
    }
    static __device__ __forceinline__ void store(float* p, const float* in) {
        *reinterpret_cast<float2*>(p) = make_float2(in[0], in[1]);
    }
};
template <int N>
struct FloatVec {
    static_assert(N % 4 == 0, "vector of 4k floats");
    static __device__ __forceinline__ void load(const float* p, float* out) {
#pragma unroll
        for (int i = 0; i < N; i += 4) {
            const float4 v = *reinterpret_cast<const float4*>(p + i);
            out[i] = v.x;
            out[i + 1] = v.y;
            out[i + 2] = v.z;
            out[i + 3] = v.w;
        }
    }
    static __device__ __forceinline__ void store(float* p, const float* in) {
#pragma unroll
        for (int i = 0; i < N; i += 4)
            *reinterpret_cast<float4*>(p + i) = make_float4(in[i], in[i + 1], in[i + 2], in[i + 3]);
    }
};

extern "C" __global__ void __launch_bounds__(F_THREADS)
    attnviz_flash_fwd(const float* __restrict__ q, const float* __restrict__ k,
                      const float* __restrict__ v, float* __restrict__ o,
                      float* __restrict__ lse, const int* __restrict__ kv_lens, int Hq, int Hkv,
                      int L, int S, float scale_log2, int win_left, int win_right) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    float* Qs = reinterpret_cast<float*>(smem_raw);  // [F_BM][SIMT_DS]
    float* Ks = Qs + F_BM * SIMT_DS;                   // [F_BN][SIMT_DS]
    float* Vs = Ks + F_BN * SIMT_DS;                   // [F_BN][SIMT_DS]
    float* Ps = Vs + F_BN * SIMT_DS;                   // [F_BM][F_PS]

    const int tid = threadIdx.x;
    const int ty = tid >> 4;
    const int tx = tid & 15;
    // Heaviest (last) Q tiles first: with a causal mask they have the most keys.
    const int q0 = (gridDim.x - 1 - blockIdx.x) * F_BM;
    const int h = blockIdx.y;
    const int b = blockIdx.z;
    const int hk = h / (Hq / Hkv);

    const float* qb = q + (static_cast<long long>(b) * Hq + h) * L * HD;
    const float* kb = k + (static_cast<long long>(b) * Hkv + hk) * S * HD;
    const float* vb = v + (static_cast<long long>(b) * Hkv + hk) * S * HD;
    float* ob = o + (static_cast<long long>(b) * Hq + h) * L * HD;
    float* lseb = lse + (static_cast<long long>(b) * Hq + h) * L;

    const int kv_len = kv_lens[b];
    const int q_last = min(q0 + F_BM, L) - 1;
    int k_begin, k_end;
    key_range(q0, q_last, kv_len, win_left, win_right, &k_begin, &k_end);
    const int t_first = k_begin / F_BN;
    const int t_end = k_end > k_begin ? (k_end + F_BN - 1) / F_BN : t_first;

    float m[4], l[4], acc[4][F_NV];
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        m[r] = ATTNVIZ_NEG_INF;
        l[r] = 0.f;
#pragma unroll
        for (int n = 0; n < F_NV; ++n) acc[r][n] = 0.f;
    }

    if (t_first < t_end) {
        cp_tile<F_BM, SIMT_DS, F_THREADS>(Qs, qb + static_cast<long long>(q0) * HD, L - q0, tid);
        const int kt0 = t_first * F_BN;
        cp_tile<F_BN, SIMT_DS, F_THREADS>(Ks, kb + static_cast<long long>(kt0) * HD, S - kt0, tid);
        cp_async_commit();
    }

    for (int t = t_first; t < t_end; ++t) {
        const int kt = t * F_BN;
        cp_async_wait<0>();
        __syncthreads();  // Q, K(t) landed; every thread is done with V(t-1) and P(t-1)
        cp_tile<F_BN, SIMT_DS, F_THREADS>(Vs, vb + static_cast<long long>(kt) * HD, S - kt, tid);
        cp_async_commit();

        float s[4][F_SC];
        qk_microtile<F_SC>(Qs, Ks, ty, tx, s);
        const bool masked = tile_needs_mask(q0, q_last, kt, F_BN, kv_len, win_left, win_right);
#pragma unroll
        for (int r = 0; r < 4; ++r) {
            const int i = q0 + ty + 16 * r;
            float mx = ATTNVIZ_NEG_INF;
#pragma unroll
            for (int c = 0; c < F_SC; ++c) {
                float x = s[r][c] * scale_log2;
                if (masked && !key_visible(i, kt + tx + 16 * c, kv_len, win_left, win_right))
                    x = ATTNVIZ_NEG_INF;
                s[r][c] = x;
                mx = fmaxf(mx, x);
            }
#pragma unroll
            for (int off = 8; off > 0; off >>= 1)
                mx = fmaxf(mx, __shfl_xor_sync(0xffffffffu, mx, off));  // the row's 16 lanes
            const float m_new = fmaxf(m[r], mx);
            const float m_use = m_new == ATTNVIZ_NEG_INF ? 0.f : m_new;
            const float alpha = exp2f(m[r] - m_use);
            float rs = 0.f;
#pragma unroll
            for (int c = 0; c < F_SC; ++c) {
                const float p = exp2f(s[r][c] - m_use);
                rs += p;
                Ps[(ty + 16 * r) * F_PS + tx + 16 * c] = p;
            }
            l[r] = l[r] * alpha + rs;  // partial over this thread's columns
#pragma unroll
            for (int n = 0; n < F_NV; ++n) acc[r][n] *= alpha;
            m[r] = m_new;
        }
        __syncthreads();  // K(t) no longer read; P(t) visible
        if (t + 1 < t_end) {
            const int kn = kt + F_BN;
            cp_tile<F_BN, SIMT_DS, F_THREADS>(Ks, kb + static_cast<long long>(kn) * HD, S - kn,
                                              tid);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();  // V(t) landed

#pragma unroll 4
        for (int j = 0; j < F_BN; j += 4) {
            float4 p4[4];
#pragma unroll
            for (int r = 0; r < 4; ++r)
                p4[r] = *reinterpret_cast<const float4*>(Ps + (ty + 16 * r) * F_PS + j);
#pragma unroll
            for (int jj = 0; jj < 4; ++jj) {
                float vv[F_NV];
                FloatVec<F_NV>::load(Vs + (j + jj) * SIMT_DS + tx * F_NV, vv);
#pragma unroll
                for (int r = 0; r < 4; ++r) {
                    const float p = jj == 0 ? p4[r].x : jj == 1 ? p4[r].y : jj == 2 ? p4[r].z
                                                                                     : p4[r].w;
#pragma unroll
                    for (int n = 0; n < F_NV; ++n) acc[r][n] = fmaf(p, vv[n], acc[r][n]);
                }
            }
        }
    }
    cp_async_wait<0>();

#pragma unroll
    for (int r = 0; r < 4; ++r) {
        float lr = l[r];
#pragma unroll
        for (int off = 8; off > 0; off >>= 1) lr += __shfl_xor_sync(0xffffffffu, lr, off);
        const int i = q0 + ty + 16 * r;
        if (i < L) {
            const float inv = lr > 0.f ? 1.f / lr : 0.f;
            float out[F_NV];
#pragma unroll
            for (int n = 0; n < F_NV; ++n) out[n] = acc[r][n] * inv;
            FloatVec<F_NV>::store(ob + static_cast<long long>(i) * HD + tx * F_NV, out);
            if (tx == 0)
                lseb[i] = lr > 0.f ? (m[r] + log2f(lr)) * ATTNVIZ_LN2 : ATTNVIZ_NEG_INF;
        }
    }
}
#endif  // fp32 forward

#if ATTNVIZ_VARIANT == 0 && ATTNVIZ_DTYPE != 0
// ==========================================================================================
// fp16 / bf16 forward on tensor cores (mma.sync.m16n8k16, fp32 accumulate)
// ==========================================================================================
constexpr int T_BM = 64;
constexpr int T_BN = 64;
constexpr int T_WARPS = 4;
constexpr int T_THREADS = 32 * T_WARPS;
constexpr int T_DS = HD + 8;  // shared row stride in 16-bit elements (16 bytes of padding)
constexpr int T_KQ = HD / 16;   // k-steps over the head dim
constexpr int T_NS = T_BN / 8;  // n-tiles of S per warp
constexpr int T_KP = T_BN / 16; // k-steps over the keys for P V
constexpr int T_NO = HD / 8;    // n-tiles of O per warp

__device__ __forceinline__ void ldmatrix_x4(unsigned (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
__device__ __forceinline__ void ldmatrix_x4_trans(unsigned (&r)[4], const void* p) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(smem_u32(p)));
}
// c (16 x 8, fp32) += a (16 x 16, row) * b (16 x 8, col)
__device__ __forceinline__ void mma16816(float (&c)[4], const unsigned (&a)[4], unsigned b0,
                                         unsigned b1) {
#if ATTNVIZ_DTYPE == 1
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#else
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
        "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
        : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
#endif
}

// Fragment layout (PTX ISA, m16n8k16): lane = 4 g + t. A regs: (row g | g+8, cols 2t, 2t+1)
// then the same with cols + 8. B regs: (k 2t, 2t+1 | +8, col g). C: (row g, cols 2t, 2t+1),
// (row g + 8, cols 2t, 2t+1). So S's C fragments for n-tiles 2kk, 2kk+1 are exactly P's A
// fragment for k-step kk: P never leaves registers.
extern "C" __global__ void __launch_bounds__(T_THREADS)
    attnviz_flash_fwd(const elem_t* __restrict__ q, const elem_t* __restrict__ k,
                      const elem_t* __restrict__ v, elem_t* __restrict__ o,
                      float* __restrict__ lse, const int* __restrict__ kv_lens, int Hq, int Hkv,
                      int L, int S, float scale_log2, int win_left, int win_right) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    elem_t* Qs = reinterpret_cast<elem_t*>(smem_raw);  // [T_BM][T_DS]
    elem_t* Ks = Qs + T_BM * T_DS;                      // [T_BN][T_DS]
    elem_t* Vs = Ks + T_BN * T_DS;                      // [T_BN][T_DS]

    const int tid = threadIdx.x;
    const int warp = tid >> 5;
    const int lane = tid & 31;
    const int g = lane >> 2;
    const int tg = lane & 3;
    const int q0 = (gridDim.x - 1 - blockIdx.x) * T_BM;  // heaviest tiles first
    const int h = blockIdx.y;
    const int b = blockIdx.z;
    const int hk = h / (Hq / Hkv);

    const elem_t* qb = q + (static_cast<long long>(b) * Hq + h) * L * HD;
    const elem_t* kb = k + (static_cast<long long>(b) * Hkv + hk) * S * HD;
    const elem_t* vb = v + (static_cast<long long>(b) * Hkv + hk) * S * HD;
    elem_t* ob = o + (static_cast<long long>(b) * Hq + h) * L * HD;
    float* lseb = lse + (static_cast<long long>(b) * Hq + h) * L;

    const int kv_len = kv_lens[b];
    const int q_last = min(q0 + T_BM, L) - 1;
    int k_begin, k_end;
    key_range(q0, q_last, kv_len, win_left, win_right, &k_begin, &k_end);
    const int t_first = k_begin / T_BN;
    const int t_end = k_end > k_begin ? (k_end + T_BN - 1) / T_BN : t_first;

    const int row0 = q0 + warp * 16 + g;  // this thread's rows: row0 and row0 + 8
    float m[2] = {ATTNVIZ_NEG_INF, ATTNVIZ_NEG_INF};
    float l[2] = {0.f, 0.f};
    float oacc[T_NO][4];
#pragma unroll
    for (int n = 0; n < T_NO; ++n)
#pragma unroll
        for (int e = 0; e < 4; ++e) oacc[n][e] = 0.f;
    unsigned qf[T_KQ][4];

    if (t_first < t_end) {
        cp_tile<T_BM, T_DS, T_THREADS>(Qs, qb + static_cast<long long>(q0) * HD, L - q0, tid);
        const int kt0 = t_first * T_BN;
        cp_tile<T_BN, T_DS, T_THREADS>(Ks, kb + static_cast<long long>(kt0) * HD, S - kt0, tid);
        cp_async_commit();
    }

    for (int t = t_first; t < t_end; ++t) {
        const int kt = t * T_BN;
        cp_async_wait<0>();
        __syncthreads();  // Q, K(t) landed; every warp is done reading V(t-1)
        cp_tile<T_BN, T_DS, T_THREADS>(Vs, vb + static_cast<long long>(kt) * HD, S - kt, tid);
        cp_async_commit();
        if (t == t_first) {
#pragma unroll
            for (int kk = 0; kk < T_KQ; ++kk)
                ldmatrix_x4(qf[kk], Qs + (warp * 16 + (lane & 15)) * T_DS + kk * 16 +
                                        (lane >> 4) * 8);
        }

        // S = Q K^T for this warp's 16 rows x T_BN keys
        float sacc[T_NS][4];
#pragma unroll
        for (int n = 0; n < T_NS; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) sacc[n][e] = 0.f;
#pragma unroll
        for (int kk = 0; kk < T_KQ; ++kk) {
#pragma unroll
            for (int np = 0; np < T_NS / 2; ++np) {
                unsigned kf[4];
                ldmatrix_x4(kf, Ks + (np * 16 + (lane & 7) + ((lane >> 4) << 3)) * T_DS +
                                    kk * 16 + ((lane >> 3) & 1) * 8);
                mma16816(sacc[2 * np], qf[kk], kf[0], kf[1]);
                mma16816(sacc[2 * np + 1], qf[kk], kf[2], kf[3]);
            }
        }

        // Online softmax on rows row0 (elements 0, 1) and row0 + 8 (elements 2, 3)
        const bool masked = tile_needs_mask(q0, q_last, kt, T_BN, kv_len, win_left, win_right);
        float mx[2] = {ATTNVIZ_NEG_INF, ATTNVIZ_NEG_INF};
#pragma unroll
        for (int n = 0; n < T_NS; ++n)
#pragma unroll
            for (int e = 0; e < 4; ++e) {
                float x = sacc[n][e] * scale_log2;
                if (masked) {
                    const int i = row0 + (e >> 1) * 8;
                    const int j = kt + n * 8 + 2 * tg + (e & 1);
                    if (!key_visible(i, j, kv_len, win_left, win_right)) x = ATTNVIZ_NEG_INF;
                }
                sacc[n][e] = x;
                mx[e >> 1] = fmaxf(mx[e >> 1], x);
            }
        float m_use[2], alpha[2];
#pragma unroll
        for (int hr = 0; hr < 2; ++hr) {
            mx[hr] = fmaxf(mx[hr], __shfl_xor_sync(0xffffffffu, mx[hr], 1));
            mx[hr] = fmaxf(mx[hr], __shfl_xor_sync(0xffffffffu, mx[hr], 2));
            const float m_new = fmaxf(m[hr], mx[hr]);
            m_use[hr] = m_new == ATTNVIZ_NEG_INF ? 0.f : m_new;
            alpha[hr] = exp2f(m[hr] - m_use[hr]);
            m[hr] = m_new;
        }
        float rs[2] = {0.f, 0.f};
        unsigned pf[T_KP][4];
#pragma unroll
        for (int n = 0; n < T_NS; ++n) {
            const float p0 = exp2f(sacc[n][0] - m_use[0]);
            const float p1 = exp2f(sacc[n][1] - m_use[0]);
            const float p2 = exp2f(sacc[n][2] - m_use[1]);
            const float p3 = exp2f(sacc[n][3] - m_use[1]);
            rs[0] += p0 + p1;
            rs[1] += p2 + p3;
            pf[n >> 1][(n & 1) * 2 + 0] = pack2(p0, p1);  // row g,     keys 2t, 2t+1 (+8)
            pf[n >> 1][(n & 1) * 2 + 1] = pack2(p2, p3);  // row g + 8, keys 2t, 2t+1 (+8)
        }
        l[0] = l[0] * alpha[0] + rs[0];
        l[1] = l[1] * alpha[1] + rs[1];
#pragma unroll
        for (int n = 0; n < T_NO; ++n) {
            oacc[n][0] *= alpha[0];
            oacc[n][1] *= alpha[0];
            oacc[n][2] *= alpha[1];
            oacc[n][3] *= alpha[1];
        }

        __syncthreads();  // every warp is done reading K(t)
        if (t + 1 < t_end) {
            const int kn = kt + T_BN;
            cp_tile<T_BN, T_DS, T_THREADS>(Ks, kb + static_cast<long long>(kn) * HD, S - kn, tid);
        }
        cp_async_commit();
        cp_async_wait<1>();
        __syncthreads();  // V(t) landed

        // O += P V
#pragma unroll
        for (int kk = 0; kk < T_KP; ++kk) {
            // pf was filled as [n>>1][(n&1)*2 + {0,1}]: regs 0,1 = n-tile 2kk (a0, a1),
            // regs 2,3 = n-tile 2kk+1 (a2, a3) — the A fragment order.
#pragma unroll
            for (int dp = 0; dp < T_NO / 2; ++dp) {
                unsigned vf[4];
                ldmatrix_x4_trans(vf, Vs + (kk * 16 + (lane & 15)) * T_DS + dp * 16 +
                                          (lane >> 4) * 8);
                mma16816(oacc[2 * dp], pf[kk], vf[0], vf[1]);
                mma16816(oacc[2 * dp + 1], pf[kk], vf[2], vf[3]);
            }
        }
    }
    cp_async_wait<0>();

#pragma unroll
    for (int hr = 0; hr < 2; ++hr) {
        float lr = l[hr];
        lr += __shfl_xor_sync(0xffffffffu, lr, 1);
        lr += __shfl_xor_sync(0xffffffffu, lr, 2);
        const int i = row0 + hr * 8;
        if (i < L) {
            const float inv = lr > 0.f ? 1.f / lr : 0.f;
            elem_t* orow = ob + static_cast<long long>(i) * HD + 2 * tg;
#pragma unroll
            for (int n = 0; n < T_NO; ++n)
                *reinterpret_cast<unsigned*>(orow + n * 8) =
                    pack2(oacc[n][2 * hr] * inv, oacc[n][2 * hr + 1] * inv);
            if (tg == 0)
                lseb[i] = lr > 0.f ? (m[hr] + log2f(lr)) * ATTNVIZ_LN2 : ATTNVIZ_NEG_INF;
        }
    }
}
#endif  // fp16 / bf16 forward

#if ATTNVIZ_VARIANT == 1
// ==========================================================================================
// Weights: P[i, j] = exp(logit_ij - lse_i), 0 where masked. One 64 x 64 tile per block.
// ==========================================================================================
constexpr int W_BM = 64;
constexpr int W_BN = 64;
constexpr int W_THREADS = 256;

// ROWS x HD elements -> float shared memory (row stride SIMT_DS); rows >= valid_rows are zero.
template <int ROWS>
__device__ __forceinline__ void load_tile_as_float(float* smem, const elem_t* gmem, int valid_rows,
                                                   int tid) {
    constexpr int QPR = HD / 4;  // groups of 4 elements per row
#pragma unroll
    for (int idx = tid; idx < ROWS * QPR; idx += W_THREADS) {
        const int row = idx / QPR;
        const int c4 = (idx - row * QPR) * 4;
        float4 x = make_float4(0.f, 0.f, 0.f, 0.f);
        if (row < valid_rows) x = load4_as_float(gmem + static_cast<long long>(row) * HD + c4);
        *reinterpret_cast<float4*>(smem + row * SIMT_DS + c4) = x;
    }
}

extern "C" __global__ void __launch_bounds__(W_THREADS)
    attnviz_attn_weights(const elem_t* __restrict__ q, const elem_t* __restrict__ k,
                         const float* __restrict__ lse, const int* __restrict__ kv_lens,
                         float* __restrict__ p, int Hq, int Hkv, int L, int S, float scale_log2,
                         int win_left, int win_right, int n_key_tiles) {
    extern __shared__ __align__(16) unsigned char smem_raw[];
    float* Qs = reinterpret_cast<float*>(smem_raw);  // [W_BM][SIMT_DS]
    float* Ks = Qs + W_BM * SIMT_DS;                   // [W_BN][SIMT_DS]

    const int tid = threadIdx.x;
    const int ty = tid >> 4;
    const int tx = tid & 15;
    const int kt = (blockIdx.x % n_key_tiles) * W_BN;
    const int q0 = (blockIdx.x / n_key_tiles) * W_BM;
    const int h = blockIdx.y;
    const int b = blockIdx.z;
    const int hk = h / (Hq / Hkv);

    const elem_t* qb = q + (static_cast<long long>(b) * Hq + h) * L * HD;
    const elem_t* kb = k + (static_cast<long long>(b) * Hkv + hk) * S * HD;
    const float* lseb = lse + (static_cast<long long>(b) * Hq + h) * L;
    float* pb = p + (static_cast<long long>(b) * Hq + h) * L * S;

    const int kv_len = kv_lens[b];
    const int q_last = min(q0 + W_BM, L) - 1;
    int k_begin, k_end;
    key_range(q0, q_last, kv_len, win_left, win_right, &k_begin, &k_end);
    const bool any_visible = max(kt, k_begin) < min(kt + W_BN, k_end);  // uniform per block

    float s[4][4];
    if (any_visible) {
        load_tile_as_float<W_BM>(Qs, qb + static_cast<long long>(q0) * HD, L - q0, tid);
        load_tile_as_float<W_BN>(Ks, kb + static_cast<long long>(kt) * HD, S - kt, tid);
        __syncthreads();
        qk_microtile<4>(Qs, Ks, ty, tx, s);
    }
#pragma unroll
    for (int r = 0; r < 4; ++r) {
        const int i = q0 + ty + 16 * r;
        if (i >= L) continue;
        const float lse2 = lseb[i] * ATTNVIZ_LOG2E;
#pragma unroll
        for (int c = 0; c < 4; ++c) {
            const int j = kt + tx + 16 * c;
            if (j >= S) continue;
            float val = 0.f;
            if (any_visible && lse2 != ATTNVIZ_NEG_INF &&
                key_visible(i, j, kv_len, win_left, win_right))
                val = exp2f(s[r][c] * scale_log2 - lse2);
            pb[static_cast<long long>(i) * S + j] = val;
        }
    }
}
#endif  // weights
