/* The AVX-512 (x86-64-v4) configuration: the AVX2 configuration (every
 * x86-64-v4 CPU runs it), with the micro-kernels this folder brings in its
 * place: the 14x32 GEMM tile with its A (14) and B (32) packers and the
 * no-pack row kernels (the convolution's packed paths keep the 14x16
 * tile, below), the elementwise functions, the softmax rows, the
 * reductions, fill and 16x16 transpose, the binary elementwise rows, the
 * optimiser steps, the pooling rows, the Winograd input and output
 * transforms and the depthwise convolution kernels (the AVX2 ones' bits,
 * src/ukernel_dwconv.h), and im2col for small images (x32-im2col-avx512.c,
 * which hands larger ones to the AVX2 row walk). col2im is still AVX2's:
 * a 512-bit twin (16 taps a vector, masked tails; session 10) left the
 * 3x3 stride-2 c128 backward-data unchanged (col2im 22 % of it either way:
 * its time is the column block's trip through L2, not instructions).
 *
 * GEMM tile: 14x32 (28 zmm accumulators, 0.57 loads per FMA) against the
 * 14x16 (14 accumulators, 1.07 loads per FMA: more than two 512-bit loads
 * a cycle at two FMAs a cycle). Measured (this session's Xeon, 1 thread,
 * GFLOP/s, 512-bit FMA peak probe ~214): micro-kernel in L1 (KC 256)
 * 170.5 -> 188.1; whole SGEMM, KC 384: 256^3 137.6 -> 158.4, 1024^3
 * 113.5 -> 157.7, 2048^3 113.9 -> 151.9, 3136x64x576 86.8 -> 124.2,
 * 128x4096x1024 73.2 -> 118.1.
 * Blocking: KC = 384, the AVX2 tile's: measured against 256 and 192
 * (1024^3: 157.7 / 147.3 / 152.7; 3136x64x576: 124.2 / 114.3 / 109.6), and
 * with it every result has the AVX2 path's bits (same KC blocks, same
 * per-element FMA chains). The B micro-panel (384 x 32 floats, 48 KiB)
 * streams from L2 rather than staying in L1; the measurement says that
 * costs less than the extra C updates of a shorter KC. MC = 84 = 6 row
 * panels of 14 (the A block, 126 KiB, in L2 beside the B block; MC only
 * regroups rows, never a bit of C): 2048^3 against MC = 168, interleaved
 * runs, 1 thread, thread CPU time, median GFLOP/s of 3 rounds: 149.0 /
 * 150.8 / 152.9 -> 154.3 / 158.7 / 155.0 (OpenBLAS 155.4 / 153.6 / 154.5);
 * 1024^3 and 128x4096x1024 unchanged (+-1 %), as 128^3..512^3,
 * 3136x64x576 and the MLP shapes. NC = 1024 (the B block,
 * 384 x 1024 floats = 1.5 MiB, in this Xeon's 2 MiB L2), N cut into equal
 * blocks of at most NC (gemm_driver.c): NC = 4064 cut 128x4096x1024 into a
 * 4064-wide block and a 32-wide sliver that repacked A for 32 columns.
 * Measured side by side (1 thread, GFLOP/s, median of 10): 128x4096x1024
 * 89.7 -> 104-111; 256^3..2048^3, 3136x64x576 and the MLP shapes unchanged
 * within the noise (+-3 %); KC = 256 and MC = 112, 224, 336 no better.
 * Zen 4 (session 12: L1d 32 KiB, L2 1 MiB, one 512-bit FMA a cycle): the
 * 48 KiB B micro-panel does not fit L1d, so the packed path swaps its two
 * inner loops there (gemm_driver.c, nb_gemm_driver_streams_b: the CPUID
 * L1d size against kc x nr floats): each 21 KiB A micro-panel stays in L1
 * while the B panels stream past it from L2/L3, and, as the B block then
 * comes from L3 whatever its width, NC = 4096 (A packed once per 4096
 * columns, not 1024). Loop order and NC never change a bit (KC stays 384;
 * tests/test_gemm_blocking.c runs both orders and other MC/NC against the
 * emulated FMA order). Sweeps (1 thread, best-of-3 GFLOP/s, this loaded
 * machine, +-3 %): loops swapped alone 1024^3 104 -> 107, 2048^3 103 ->
 * 106-107; + NC 4096 (and a B prefetch, since dropped): 2048^3 105 ->
 * 109, 128x4096x1024 90.6 -> 97.1, 256^3..1024^3 and 128x784x256
 * unchanged. No gain from: a B prefetch 8 k ahead in the tile (side by
 * side without it, ms: 128x4096x1024 11.92 -> 11.31, 2048^3 160.5 ->
 * 158.0, 3x3 s2 c128 forward (implicit im2col, same tile) 2.459 ->
 * 2.389), NC 256 or 512 (the B block in L2: A repacked more often, 1024^3 -5 %),
 * MC 140 or 168 with either order, keeping the old order with NC 512, the
 * prefetch without the swap (+-1 %), prefetching 2 or 4 KiB ahead or the
 * A panel too. A/B against the old blocking (with the prefetch;
 * /tmp/ab.sh, 3 rounds, medians of 5, ms; peers' rows drift +-3 % between the two columns): 1024^3
 * 20.50 -> 19.88 (XNNPACK 19.97), 2048^3 170.7 -> 159.1 (108 GFLOP/s, 93 %
 * of peak; OpenBLAS 174.8), 128x4096x1024 12.49 -> 11.78 (libxsmm 12.79),
 * 512^3 2.486 -> 2.479 (XNNPACK 2.418).
 * With the swapped loops, MC 28, 42 or 168 instead of 84: 512^3, 1024^3,
 * 128x4096x1024, 128x784x256 1-5 % slower. Swapping at K = 256 too (B
 * panel 32 KiB = L1d; forced through a smaller L1d): 128x784x256 103.8 ->
 * 102.7. The 14x32 direct tile at 64^3 / 128^3 instead of the 6x64: 110.9
 * -> 104.0 / 113.4 -> 107.8 here too. 2 threads (column split: each
 * thread streams its 768 KiB of B panels, in its L2, past an A panel in
 * L1): 1024^3 11.55 -> 10.59 ms (1.91x its 1 thread), 2048^3 91.9 ->
 * 81.0 ms (1.96x), loaded machine, 2 rounds.
 * A in place (ukernel_adirect, the same tile loop reading A's rows where
 * they are) whenever N <= 128, for any K: with 2-4 column panels to reuse
 * it, packing an A block costs more than it saves, even after the packer
 * lost its gathers. Measured side by side against packing A (1 thread,
 * GFLOP/s, 2 runs): 64^3 150/141 vs 120/118; 128^3 159/157 vs 143/143;
 * 3136x64x576 146/149 vs 117/124 (K = 576 too, unlike AVX2's 6x16 tile,
 * where short K favoured packing). The SGEMM itself reads A in place up
 * to N = 256 (adirect_sgemm_max_n; the convolution drivers still plan
 * with adirect_max_n = 128): session 7, interleaved runs, 1 thread,
 * thread CPU time, medians of 4 rounds, GFLOP/s: the MLP's forward
 * 128x256x784 (B^T) 141.7-144.0 -> 148.9-153.6, 256^3 155.9-159.4 ->
 * 164.8-170.4; at N = 1024 packing still wins (1024^3 152.6-161.7 packed
 * against 148.6-150.4 in place).
 * B packed row by row (nb_f32_packb_ukernel_32__avx512_rows: one stream
 * per row of B instead of k page-strided streams per panel): with M = 128
 * each B element is used by only 128 rows, and packing B straight from
 * memory was 26 % of 128x4096x1024. Side by side (median of 10):
 * 109.7 -> 116.7 GFLOP/s; 256^3..2048^3 and the MLP shapes unchanged
 * (+-2 %); prefetching the rows 1, 2 or 4 ahead gained nothing.
 * Zen 4 (session 13): the 14x32 tile itself runs at the 512-bit FMA peak
 * from L1 and L2 (a harness calling it on hot panels, thread CPU time:
 * KC 256-384 99-100 % of the fma512 probe, edge tiles of 4 and 8 rows too;
 * B panels streamed from L3 94-96 %), and perf puts 95 % of 256^3 and
 * 90-93 % of 512^3 / 1024^3 in it: what the SGEMM loses to the peak and
 * to XNNPACK (whose operator packs B once, outside the timed loop) is the
 * packing, B 2-3.5 %, A ~3 % at 512^3. So where B is not transposed,
 * each B panel is packed by its first tile (ukernel_packb,
 * f32-gemm-14x32-avx512-packb.c: the copy rides in the FMA-bound loop),
 * over A in place or packed. 1 thread, best / median of 31, thread CPU
 * time, GFLOP/s, old and new interleaved: A in place: 256^3 112.6 /
 * 106-109 -> 115.2 / 108.5-110; 128x256x784 108-110 / 103-104 -> 114 /
 * 106-110; 64x200x512 95 / 89-91 -> 100 / 92-95; 3136x128x576 and
 * 1000x250x1000 unchanged within the noise. A packed (fused on / off in
 * the same binary): 128x784x256 100.7-104.9 / 99-101 -> 111.1-111.6 /
 * 108-110; 128x4096x1024 92-99 / 86-96 -> 102-104 / 99.6-99.9;
 * 84x1024x384 103.8 / 96.2 -> 112.5-113.0 / 110-111; 168x512x512 108 /
 * 105-107 -> 112.7 / 110; 512^3 110.3-111.7 / 107.6-110.3 -> 112.1-112.7
 * / 109.5-111.5; 1024^3 108.4-109.9 / 107-108 -> 108-109.5 / 107-108;
 * but old and new builds interleaved gave 512^3 110.0 / 108 -> 108.4-111.3
 * / 105-106 and /tmp/ab.sh 2.587 -> 2.659 ms, so the driver packs B in the
 * tile over packed A only for M <= 2 MC (gemm_driver.c).
 * Measured and dropped (Zen 4, same harness): a B prefetch 4-16 k ahead
 * in the packing tile (+-1 %); A in place up to N =
 * 512 / 1024 (1.04x / 1.49x slower: rows 2 / 4 KiB apart alias in L1d);
 * the panel-order B packer (nb_f32_packb_ukernel_32__avx512: faster alone
 * on L2-hot data, but 512^3 / 1024^3 unchanged and 128x4096x1024 11 %
 * slower); the A-in-place tiles with row panels outer at 256^3; a B
 * prefetch 4-32 k ahead in the A-in-place tile at 256^3; MC 28-256 for
 * it; the 14x16 tile (16 KiB B panels that stay in L1) at 256^3 (-2 %).
 * Nothing packed (ukernel_direct, the same tile loop reading B's rows in
 * place too) where A is read in place, B is not transposed and has at most
 * 384 x 128 elements (192 KiB, in L2 for every row panel): the B packer
 * was ~8 % of a 64^3 GEMM. Measured side by side (1 thread, GFLOP/s, best
 * and median of 15): 64^3 150/148 -> 165/158 (libxsmm 181/167); 128^3
 * 159/156 -> 160/157.
 * Where N is a multiple of 64 and B has at most 128 x 128 elements, the
 * direct path runs a 6x64 tile instead (f32-gemm-6x64-avx512-direct.c:
 * 10 loads per 24 FMAs against 16 per 28, plain row pointers for A; same
 * bits). Its loop alone, side by side with the 14x32 one: 64^3 1.08-1.11x,
 * 128^3 1.03-1.06x. Whole SGEMM (session 8, loaded machine, 1 thread,
 * medians of 5, main and this build interleaved twice): 64^3 154.2 / 150.9
 * -> 170.4 / 168.6 GFLOP/s (OpenBLAS 164.7-167.2, libxsmm 164.4-168.5);
 * 128^3 161.4 / 152.4 -> 160.2 / 161.0 (unchanged within the noise).
 * Winograd takes B panels of at most NB_CONV_PLAN_LANES = 16 columns, so
 * it runs the 14x16 tile (conv_gemm), and the 16x16 (wino_gemm, the same
 * bits) where each task transforms its own filter panels: 16 filters fill
 * the filter transform's lanes and its stores are whole aligned lines
 * (c256 14x14 k256, 1 thread: forward 0.95 -> 0.78 ms, backward-data
 * 0.95 -> 0.82 ms with the fused path's other changes, conv_winograd.c).
 * The implicit-im2col path runs the
 * 14x32 tile with its own 32-wide packer (pack_b_im2col_wide: two 16-lane
 * plan panels a B panel; 3x3 stride 2 c128 56x56 forward 116 -> 130
 * GFLOP/s), and AVX2's 16-wide one stays for conv_gemm. Same KC, so
 * forward and data-gradient convolutions keep the AVX2 bits too. Their explicit column
 * blocks and the filter gradient call the full SGEMM above. Pointwise (1x1
 * stride 1) forward and data-gradient passes run their own 8-row tile on
 * the image in place (conv.pw, src/conv_pointwise.c; same KC cuts and FMA
 * chains as the SGEMM, same bits).
 */
#include <immintrin.h>

#include "rowsum-f64-avx512.h"
#include "gemm-14x32-avx512.h"
#include "ukernel.h"


/* The double row sum with the AVX2 configuration's bits (rowsum-f64-avx512.h). */
static double rowsum_f64(int64_t n, const float *x) { return nb_rs64_sum(n, x); }

void nb_avx512_config(nb_ukernel_config *cfg) {
    nb_avx2_config(cfg);
    cfg->conv_gemm = cfg->gemm;   /* AVX2's blocking and 16-wide B packer */
    cfg->conv_gemm.mr = 14;
    cfg->conv_gemm.ukernel = nb_f32_gemm_ukernel_14x16__avx512;
    cfg->conv_gemm.pack_a = nb_f32_packa_ukernel_14__avx512;
    cfg->conv_gemm.ukernel_adirect = NULL;
    /* Winograd's fused filter panels: 16 rows, one per lane of the filter
       transform (f32-gemm-14x16-avx512.c). */
    cfg->wino_gemm = cfg->conv_gemm;
    cfg->wino_gemm.mr = 16;
    cfg->wino_gemm.ukernel = nb_f32_gemm_ukernel_16x16__avx512;
    cfg->wino_gemm.pack_a = NULL;
    cfg->gemm.mr = 14;
    cfg->gemm.nr = 32;
    cfg->gemm.mc = 84;
    cfg->gemm.kc = 384;
    /* Where L1d cannot hold the 48 KiB B micro-panel (Zen 4: 32 KiB) the
       driver streams B panels past the A panel (see above), and the B block
       then comes from L3 whatever NC is: a wider one packs A less often. */
    cfg->gemm.nc = 1024;
    cfg->gemm.nc_streamed = 4096;
    cfg->gemm.ukernel = nb_f32_gemm_ukernel_14x32__avx512;
    cfg->gemm.pack_a = nb_f32_packa_ukernel_14__avx512;
    cfg->gemm.pack_b = nb_f32_packb_ukernel_32__avx512_rows;
    cfg->gemm.ukernel_adirect = nb_f32_gemm_ukernel_14x32__avx512_adirect;
    cfg->gemm.adirect_max_n = 128;
    cfg->gemm.adirect_sgemm_max_n = 256;
    cfg->gemm.adirect_min_k = 1;   /* any K: see above */
    cfg->gemm.ukernel_direct = nb_f32_gemm_ukernel_14x32__avx512_direct;
    cfg->gemm.ukernel_packb = nb_f32_gemm_ukernel_14x32__avx512_packb;
    cfg->gemm.direct_max_kn = 384 * 128;   /* B up to 192 KiB: in L2 (see above) */
    cfg->gemm.ukernel_direct_wide = nb_f32_gemm_ukernel_6x64__avx512_direct;
    cfg->gemm.direct_wide_mr = 6;
    cfg->gemm.direct_wide_nr = 64;
    cfg->gemm.direct_wide_max_kn = 128 * 128;   /* B up to 64 KiB (see above) */
    cfg->gemm.rows = nb_f32_gemm_ukernel_4xn__avx512_nopack;
    cfg->gemm.rows_bt = nb_f32_gemm_ukernel_4xn__avx512_nopack_bt;
    cfg->gemm.rows_bt_n = 32;
    cfg->unary[NB_UNARY_EXP] = nb_f32_vexp_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_LOG] = nb_f32_vlog_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_TANH] = nb_f32_vtanh_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_SIGMOID] = nb_f32_vsigmoid_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_GELU] = nb_f32_vgelu_ukernel__avx512_u32;
    cfg->unary[NB_UNARY_RELU] = nb_f32_vrelu_ukernel__avx512_u32;
    cfg->conv.wino_in = nb_f32_winoin_ukernel_16__avx512;
    cfg->conv.wino_out = nb_f32_winoout_ukernel_16__avx512;
    cfg->conv.wino_filter = nb_f32_winofilter_ukernel__avx512;
    cfg->conv.wino_bf_dy = nb_f32_winobfdy_ukernel_16__avx512;
    cfg->conv.wino_bf_out = nb_f32_winobfout_ukernel__avx512;
    cfg->softmax = nb_f32_softmax_ukernel__avx512;
    cfg->logsoftmax = nb_f32_logsoftmax_ukernel__avx512;
    cfg->maxpool = nb_f32_maxpool_ukernel__avx512;
    cfg->avgpool = nb_f32_avgpool_ukernel__avx512;
    cfg->maxpool_bwd = nb_f32_maxpool_bwd_ukernel__avx512;
    cfg->maxpool2 = nb_f32_maxpool2_planes_ukernel__avx512;
    cfg->maxpool2_bwd = nb_f32_maxpool2_planes_bwd_ukernel__avx512;
    cfg->maxpool2_fits = nb_f32_maxpool2_planes_fits__avx512;
    NB_F32_BNORM_SET(avx512)
    cfg->reduce = (nb_sreduce_ukernels){
        .rsum    = nb_f32_rsum_ukernel__avx512_u32,
        .rmax    = nb_f32_rmax_ukernel__avx512_u64,
        .rmin    = nb_f32_rmin_ukernel__avx512_u64,
        .raddcol = nb_f32_raddcol_ukernel__avx512_u64,
        .rmaxcol = nb_f32_rmaxcol_ukernel__avx512_u64,
        .rmincol = nb_f32_rmincol_ukernel__avx512_u64,
        .raddcol4 = nb_f32_raddcol4_ukernel__avx512_u32,
        .rmaxcol4 = nb_f32_rmaxcol4_ukernel__avx512_u32,
        .rmincol4 = nb_f32_rmincol4_ukernel__avx512_u32,
        .rrows   = nb_f32_rrows_ukernel__avx512_16x16,
    };
    cfg->copy = (nb_copy_ukernels){
        .transpose32 = nb_x32_transpose_ukernel_16x16__avx512,
        .fill32      = nb_x32_fill_ukernel__avx512,
    };
    NB_F32_VBINARY_OPS(NB_F32_VBINARY_SET, NB_ISA_AVX512, avx512_u32)
    cfg->sgd = nb_f32_sgd_ukernel__avx512_u16;
    cfg->adam = nb_f32_adam_ukernel__avx512_u16;
    cfg->conv.dw.fwd = nb_f32_dwconv_fwd_ukernel__avx512;
    cfg->conv.dw.bwf = nb_f32_dwconv_bwf_ukernel__avx512;
    cfg->conv.dw.bwf_sum = nb_f32_dwconv_bwf_sum_ukernel__avx512;
    cfg->conv.rowsum = rowsum_f64;
    cfg->conv.pw = (nb_pwconv_ukernel){nb_f32_pwconv_ukernel_8x48__avx512, 8, 48, 256};
    /* backward-filter, 1x1 with 17..24 filters: AVX2's 4x24 tile (ymm) has
       every lane a filter where 14x16 / 14x32 leave a quarter empty, and on
       256-bit FMA pipes (Zen 4) ymm FMAs run at the zmm rate (c144 56x56
       k24; conv_bwd_filter_narrow.c). */
    cfg->conv.bwf_narrow_alt = cfg->conv.bwf_narrow;
    /* backward-filter, 1x1 with <= 16 filters: the 14x32 tile would be half empty */
    cfg->conv.bwf_narrow.fn = nb_f32_gemm_ukernel_14x16__avx512_adirect;
    cfg->conv.bwf_narrow.mr = 14;
    cfg->conv.bwf_narrow.nr = 16;
    cfg->conv.bwf_narrow.pack_b = cfg->conv_gemm.pack_b;   /* 16 wide */
    cfg->conv.pack_b_im2col_wide = nb_f32_packb_im2col_ukernel_32__avx512;
    cfg->conv.direct = nb_f32_conv_direct_ukernel_8x48__avx512;
    cfg->conv.direct_bwf = nb_f32_conv_direct_bwf_ukernel_7x64__avx512;
    /* backward-filter, stride 2: x read in place by the 14x32 tile (conv_bwd_filter_rows.c) */
    cfg->conv.bwf_rows.fn = nb_f32_conv_bwf_rows_ukernel_14x32__avx512;
    cfg->conv.bwf_rows.mr = 14;
    cfg->conv.bwf_rows.nr = 32;
    /* 3x3 stride-2 backward-data, broadcast orientation (conv_bwd_data_phase.c) */
    cfg->conv.bdata_s2 = (nb_conv_bdata_s2_ukernel){nb_f32_conv_bdata_s2_ukernel_16x14__avx512, 16, 14,
                                                    nb_f32_conv_bdata_s2_pack_16__avx512};
    /* The broadcast-orientation direct forward tile (src/conv_bcast.c). */
    cfg->conv.bcast = (nb_conv_bcast_ukernel){nb_f32_conv_bcast_ukernel_14x32__avx512,
                                              nb_f32_conv_bcast_pad__avx512, 14, 32, 64, 1};
    cfg->conv.im2col = nb_x32_im2col_ukernel__avx512;
}
