// A probe, not part of seqtool: how fast oneDNN (Debian's libdnnl-dev 2.6) runs TCNBench C's convolutions
// (batch 64, 32 → 32 channels, k 3, 256 steps, dilations 1…32, causal) on this machine — forward, input gradient
// and weight gradient, channels-last (`nwc`) and channel-first (`ncw`) activations. Run by `probe.sh`. It measured
// the path TCN's full-length passes then took: the channels-last oneDNN engine (Sources/CTCNDNNL,
// Sources/TCN/ChannelsLast.swift).
#include <dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define CHECK(x)                                                                                                       \
    do {                                                                                                               \
        dnnl_status_t s = (x);                                                                                         \
        if (s != dnnl_success) {                                                                                       \
            fprintf(stderr, "%s failed: %d\n", #x, (int)s);                                                            \
            exit(1);                                                                                                   \
        }                                                                                                              \
    } while (0)

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static dnnl_memory_t memory(const dnnl_memory_desc_t *md, dnnl_engine_t engine) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, engine, DNNL_MEMORY_ALLOCATE));
    return m;
}

/// Best of 50 runs of `p` in seconds.
static double best(dnnl_primitive_t p, dnnl_stream_t stream, int n, const dnnl_exec_arg_t *args) {
    double result = 1e9;
    for (int r = 0; r < 50; r++) {
        double t0 = now();
        CHECK(dnnl_primitive_execute(p, stream, n, args));
        CHECK(dnnl_stream_wait(stream));
        double t = now() - t0;
        if (t < result) result = t;
    }
    return result;
}

int main(void) {
    const int N = 64, C = 32, T = 256, K = 3;
    dnnl_engine_t engine;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    const dnnl_format_tag_t layouts[2] = {dnnl_nwc, dnnl_ncw};
    const char *names[2] = {"nwc", "ncw"};
    for (int l = 0; l < 2; l++) {
        double total[3] = {0, 0, 0};
        const double flops = 2.0 * N * T * C * C * K;
        printf("activations %s:\n", names[l]);
        for (int level = 0; level < 6; level++) {
            const int d = 1 << level;
            dnnl_dims_t xd = {N, C, T}, wd = {C, C, K}, bd = {C};
            dnnl_memory_desc_t x, w, b, anyW;
            CHECK(dnnl_memory_desc_init_by_tag(&x, 3, xd, dnnl_f32, layouts[l]));
            CHECK(dnnl_memory_desc_init_by_tag(&w, 3, wd, dnnl_f32, dnnl_oiw));
            CHECK(dnnl_memory_desc_init_by_tag(&anyW, 3, wd, dnnl_f32, dnnl_format_tag_any));
            CHECK(dnnl_memory_desc_init_by_tag(&b, 1, bd, dnnl_f32, dnnl_x));
            dnnl_dims_t strides = {1}, dilates = {d - 1}, left = {(K - 1) * d}, right = {0};
            dnnl_convolution_desc_t fd, dd, wdsc;
            CHECK(dnnl_dilated_convolution_forward_desc_init(
                &fd, dnnl_forward_training, dnnl_convolution_direct, &x, &anyW, &b, &x, strides, dilates, left, right));
            dnnl_primitive_desc_t fpd, dpd, wpd;
            CHECK(dnnl_primitive_desc_create(&fpd, &fd, NULL, engine, NULL));
            CHECK(dnnl_dilated_convolution_backward_data_desc_init(
                &dd, dnnl_convolution_direct, &x, &anyW, &x, strides, dilates, left, right));
            CHECK(dnnl_primitive_desc_create(&dpd, &dd, NULL, engine, fpd));
            CHECK(dnnl_dilated_convolution_backward_weights_desc_init(
                &wdsc, dnnl_convolution_direct, &x, &anyW, &b, &x, strides, dilates, left, right));
            CHECK(dnnl_primitive_desc_create(&wpd, &wdsc, NULL, engine, fpd));
            dnnl_primitive_t fp, dp, wp;
            CHECK(dnnl_primitive_create(&fp, fpd));
            CHECK(dnnl_primitive_create(&dp, dpd));
            CHECK(dnnl_primitive_create(&wp, wpd));
            dnnl_memory_t src = memory(&x, engine), dst = memory(&x, engine), bias = memory(&b, engine);
            dnnl_memory_t diffDst = memory(&x, engine), diffSrc = memory(&x, engine), diffBias = memory(&b, engine);
            dnnl_memory_t weights = memory(dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 0), engine);
            dnnl_memory_t dataWeights = memory(dnnl_primitive_desc_query_md(dpd, dnnl_query_weights_md, 0), engine);
            dnnl_memory_t diffWeights = memory(dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0), engine);
            dnnl_exec_arg_t fa[4] = {
                {DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_BIAS, bias}, {DNNL_ARG_DST, dst}};
            dnnl_exec_arg_t da[3] = {
                {DNNL_ARG_DIFF_DST, diffDst}, {DNNL_ARG_WEIGHTS, dataWeights}, {DNNL_ARG_DIFF_SRC, diffSrc}};
            dnnl_exec_arg_t wa[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, diffDst},
                                     {DNNL_ARG_DIFF_WEIGHTS, diffWeights}, {DNNL_ARG_DIFF_BIAS, diffBias}};
            double t[3] = {best(fp, stream, 4, fa), best(dp, stream, 3, da), best(wp, stream, 4, wa)};
            // The temporal block's second convolution fused: relu(relu(conv(x)) + residual), the residual already in
            // dst (oneDNN post-ops: eltwise, sum, eltwise).
            dnnl_post_ops_t ops;
            dnnl_primitive_attr_t attr;
            CHECK(dnnl_post_ops_create(&ops));
            CHECK(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0));
            CHECK(dnnl_post_ops_append_sum(ops, 1));
            CHECK(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0));
            CHECK(dnnl_primitive_attr_create(&attr));
            CHECK(dnnl_primitive_attr_set_post_ops(attr, ops));
            dnnl_primitive_desc_t ffpd;
            CHECK(dnnl_primitive_desc_create(&ffpd, &fd, attr, engine, NULL));
            dnnl_primitive_t ffp;
            CHECK(dnnl_primitive_create(&ffp, ffpd));
            double fused = best(ffp, stream, 4, fa);
            const char *fusedImpl;
            dnnl_primitive_desc_query(ffpd, dnnl_query_impl_info_str, 0, &fusedImpl);
            // Same inputs, same threads: is the weight gradient the same bits twice?
            float *g;
            size_t bytes = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(wpd, dnnl_query_diff_weights_md, 0));
            float *src0, *dd0;
            CHECK(dnnl_memory_get_data_handle(src, (void **)&src0));
            CHECK(dnnl_memory_get_data_handle(diffDst, (void **)&dd0));
            for (size_t i = 0; i < (size_t)N * C * T; i++) {
                src0[i] = (float)((i * 2654435761u) % 1000) / 1000 - 0.5f;
                dd0[i] = (float)((i * 40503u) % 997) / 997 - 0.5f;
            }
            CHECK(dnnl_primitive_execute(wp, stream, 4, wa));
            CHECK(dnnl_stream_wait(stream));
            CHECK(dnnl_memory_get_data_handle(diffWeights, (void **)&g));
            float *first = malloc(bytes);
            for (size_t i = 0; i < bytes / 4; i++) first[i] = g[i];
            int same = 1;
            for (int r = 0; r < 5; r++) {
                CHECK(dnnl_primitive_execute(wp, stream, 4, wa));
                CHECK(dnnl_stream_wait(stream));
                for (size_t i = 0; i < bytes / 4; i++) same &= first[i] == g[i];
            }
            free(first);
            printf("  d=%2d  fused forward (relu, +residual, relu) %6.1f GFLOPS (%s); weight gradient repeatable: %s\n",
                   d, flops / fused / 1e9, fusedImpl, same ? "yes" : "NO");
            const char *impl[3];
            dnnl_primitive_desc_query(fpd, dnnl_query_impl_info_str, 0, &impl[0]);
            dnnl_primitive_desc_query(dpd, dnnl_query_impl_info_str, 0, &impl[1]);
            dnnl_primitive_desc_query(wpd, dnnl_query_impl_info_str, 0, &impl[2]);
            printf("  d=%2d  forward %6.1f GFLOPS (%s)  input gradient %6.1f (%s)  weight gradient %6.1f (%s)\n", d,
                   flops / t[0] / 1e9, impl[0], flops / t[1] / 1e9, impl[1], flops / t[2] / 1e9, impl[2]);
            for (int i = 0; i < 3; i++) total[i] += t[i];
        }
        printf("  all six: forward %.1f GFLOPS, input gradient %.1f, weight gradient %.1f, training %.1f\n",
               6 * flops / total[0] / 1e9, 6 * flops / total[1] / 1e9, 6 * flops / total[2] / 1e9,
               18 * flops / (total[0] + total[1] + total[2]) / 1e9);
    }
    return 0;
}
