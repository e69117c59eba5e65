// See CTCNDNNL.h. oneDNN 2.x C API (Debian bookworm ships 2.6.3).
#include "CTCNDNNL.h"

#include <dlfcn.h>
#include <dnnl.h>
#include <pthread.h>
#include <stdlib.h>

static dnnl_engine_t engine;
static dnnl_status_t engine_status = dnnl_runtime_error;
static void (*set_omp_threads)(int);
static void (*gomp_parallel)(void (*)(void *), void *, unsigned, unsigned);
static int (*omp_thread)(void);
static int (*omp_threads)(void);
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void initialize(void) {
    engine_status = dnnl_engine_create(&engine, dnnl_cpu, 0);
    // libdnnl runs on libgomp, which it loaded: its thread count is set per calling thread, and its parallel
    // regions are what GCC emits for `#pragma omp parallel` (GOMP_parallel).
    set_omp_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    gomp_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(RTLD_DEFAULT, "GOMP_parallel");
    omp_thread = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_thread_num");
    omp_threads = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_num_threads");
}

typedef struct {
    tcn_range_body body;
    void *context;
    long count;
    int parts;
} parallel_job;

static void parallel_part(void *argument) {
    const parallel_job *job = argument;
    const int n = omp_threads();
    for (int p = omp_thread(); p < job->parts; p += n)
        job->body(job->context, p * job->count / job->parts, (p + 1) * job->count / job->parts);
}

void tcn_parallel_for(long count, long grain, int threads, tcn_range_body body, void *context) {
    if (count <= 0) return;
    pthread_once(&once, initialize);
    long parts = count / (grain > 0 ? grain : 1);
    if (parts > threads) parts = threads;
    if (parts <= 1 || !gomp_parallel || !omp_thread || !omp_threads) {
        body(context, 0, count);
        return;
    }
    parallel_job job = {body, context, count, (int)parts};
    gomp_parallel(parallel_part, &job, (unsigned)parts, 0);
}

/// The primitive of one direction, with the reorders between PyTorch's `oiw` filter and the layout it uses.
/// Scratchpads are ours (oneDNN's user scratchpad mode): with the library's shared one, two threads running different
/// convolutions at once crashed (a NULL scratchpad in a GEMM-based kernel, about one run in two of the parallel test
/// suite). Each calling thread has one buffer, grown as needed and shared by the primitives it runs one after another,
/// as the library's is (one buffer per primitive would hold memory for every cached shape; TCNBench C measured the
/// same either way within its noise: 5,138–5,414 vs 5,077–5,325 training samples/s).
typedef struct {
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t primitive;
    dnnl_memory_t scratch;         // the primitive's scratchpad (its handle set per call), or NULL when it needs none
    size_t scratch_size;
    dnnl_primitive_t reorder;      // oiw → the primitive's weights (forward, input gradient) or back (weight gradient)
    dnnl_memory_t reorder_scratch;
    size_t reorder_scratch_size;
    dnnl_memory_t weights;         // the primitive's own weights memory when a reorder is needed
} direction;

/// The calling thread's scratchpad buffer.
typedef struct {
    void *data;
    size_t size;
} thread_buffer;

static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void free_thread_buffer(void *p) {
    thread_buffer *b = p;
    free(b->data);
    free(b);
}

static void make_scratch_key(void) { pthread_key_create(&scratch_key, free_thread_buffer); }

/// At least `size` bytes of this thread's scratchpad (64-byte aligned), or NULL when memory runs out.
static void *thread_scratch(size_t size) {
    pthread_once(&scratch_once, make_scratch_key);
    thread_buffer *b = pthread_getspecific(scratch_key);
    if (!b) {
        if (!(b = calloc(1, sizeof *b))) return NULL;
        pthread_setspecific(scratch_key, b);
    }
    if (b->size < size) {
        free(b->data);
        size_t rounded = (size + 63) / 64 * 64;
        b->data = aligned_alloc(64, rounded);
        b->size = b->data ? rounded : 0;
    }
    return b->data;
}

struct tcn_dnnl_conv {
    pthread_mutex_t lock;
    dnnl_stream_t stream;
    int threads, bias, training;
    dnnl_memory_desc_t x, y, w, b;
    direction d[3];
    dnnl_memory_t mx, my, mw, mb;  // user buffers, handles set per call
};

#define TRY(call)                                                                                                      \
    do {                                                                                                               \
        if ((call) != dnnl_success) goto fail;                                                                         \
    } while (0)

static void free_direction(direction *d) {
    if (d->scratch) dnnl_memory_destroy(d->scratch);
    if (d->reorder_scratch) dnnl_memory_destroy(d->reorder_scratch);
    if (d->reorder) dnnl_primitive_destroy(d->reorder);
    if (d->weights) dnnl_memory_destroy(d->weights);
    if (d->primitive) dnnl_primitive_destroy(d->primitive);
    if (d->pd) dnnl_primitive_desc_destroy(d->pd);
}

void tcn_dnnl_conv_destroy(tcn_dnnl_conv *c) {
    if (!c) return;
    for (int i = 0; i < 3; i++) free_direction(&c->d[i]);
    if (c->mx) dnnl_memory_destroy(c->mx);
    if (c->my) dnnl_memory_destroy(c->my);
    if (c->mw) dnnl_memory_destroy(c->mw);
    if (c->mb) dnnl_memory_destroy(c->mb);
    if (c->stream) dnnl_stream_destroy(c->stream);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

/// Attributes with the user scratchpad mode (see `direction`) and, with `relu`, a ReLU post-op; NULL on failure.
static dnnl_primitive_attr_t attributes(int relu) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    int ok = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user) == dnnl_success;
    if (ok && relu) {
        ok = dnnl_post_ops_create(&ops) == dnnl_success &&
             dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0) == dnnl_success &&
             dnnl_primitive_attr_set_post_ops(attr, ops) == dnnl_success;
    }
    if (ops) dnnl_post_ops_destroy(ops);
    if (!ok) {
        dnnl_primitive_attr_destroy(attr);
        return NULL;
    }
    return attr;
}

/// A memory object for the scratchpad `pd` asks for, without storage (NULL in `*scratch` when it needs none).
static dnnl_status_t scratchpad(const_dnnl_primitive_desc_t pd, dnnl_memory_t *scratch, size_t *size) {
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    *scratch = NULL;
    *size = md ? dnnl_memory_desc_get_size(md) : 0;
    if (*size == 0) return dnnl_success;
    return dnnl_memory_create(scratch, md, engine, DNNL_MEMORY_NONE);
}

/// The primitive for `pd` with its scratchpad, and a reorder between `oiw` and its weights layout (`query`) when they
/// differ.
static dnnl_status_t finish(tcn_dnnl_conv *c, direction *d, dnnl_query_t query, int toUser) {
    dnnl_status_t s = dnnl_primitive_create(&d->primitive, d->pd);
    if (s != dnnl_success || (s = scratchpad(d->pd, &d->scratch, &d->scratch_size)) != dnnl_success) return s;
    const dnnl_memory_desc_t *md = dnnl_primitive_desc_query_md(d->pd, query, 0);
    if (dnnl_memory_desc_equal(md, &c->w)) return dnnl_success;
    s = dnnl_memory_create(&d->weights, md, engine, DNNL_MEMORY_ALLOCATE);
    if (s != dnnl_success) return s;
    dnnl_primitive_attr_t attr = attributes(0);
    if (!attr) return dnnl_out_of_memory;
    dnnl_primitive_desc_t rpd;
    s = toUser ? dnnl_reorder_primitive_desc_create(&rpd, md, engine, &c->w, engine, attr)
               : dnnl_reorder_primitive_desc_create(&rpd, &c->w, engine, md, engine, attr);
    dnnl_primitive_attr_destroy(attr);
    if (s != dnnl_success) return s;
    s = dnnl_primitive_create(&d->reorder, rpd);
    if (s == dnnl_success) s = scratchpad(rpd, &d->reorder_scratch, &d->reorder_scratch_size);
    dnnl_primitive_desc_destroy(rpd);
    return s;
}

tcn_dnnl_conv *tcn_dnnl_conv_create(int batch, int in, int out, int time, int kernel, int dilation, int left,
                                    int right, int bias, int relu, int training, int threads) {
    pthread_once(&once, initialize);
    if (engine_status != dnnl_success) return NULL;
    if (set_omp_threads) set_omp_threads(threads);
    dnnl_primitive_attr_t attr = NULL;
    tcn_dnnl_conv *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->lock, NULL);
    c->threads = threads;
    c->bias = bias;
    c->training = training;
    dnnl_dims_t xd = {batch, in, time}, yd = {batch, out, time}, wd = {out, in, kernel}, bd = {out};
    dnnl_dims_t strides = {1}, dilates = {dilation - 1}, pl = {left}, pr = {right};
    dnnl_memory_desc_t anyW;
    TRY(dnnl_stream_create(&c->stream, engine, dnnl_stream_default_flags));
    TRY(dnnl_memory_desc_init_by_tag(&c->x, 3, xd, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&c->y, 3, yd, dnnl_f32, dnnl_nwc));
    TRY(dnnl_memory_desc_init_by_tag(&c->w, 3, wd, dnnl_f32, dnnl_oiw));
    TRY(dnnl_memory_desc_init_by_tag(&c->b, 1, bd, dnnl_f32, dnnl_x));
    TRY(dnnl_memory_desc_init_by_tag(&anyW, 3, wd, dnnl_f32, dnnl_format_tag_any));
    const dnnl_memory_desc_t *bmd = bias ? &c->b : NULL;
    dnnl_convolution_desc_t fd;
    TRY(dnnl_dilated_convolution_forward_desc_init(
        &fd, training ? dnnl_forward_training : dnnl_forward_inference, dnnl_convolution_direct, &c->x, &anyW, bmd,
        &c->y, strides, dilates, pl, pr));
    if (!(attr = attributes(relu))) goto fail;
    TRY(dnnl_primitive_desc_create(&c->d[0].pd, &fd, attr, engine, NULL));
    dnnl_primitive_attr_destroy(attr);
    if (!(attr = attributes(0))) goto fail;
    TRY(finish(c, &c->d[0], dnnl_query_weights_md, 0));
    if (training) {
        dnnl_convolution_desc_t dd, wdsc;
        TRY(dnnl_dilated_convolution_backward_data_desc_init(
            &dd, dnnl_convolution_direct, &c->x, &anyW, &c->y, strides, dilates, pl, pr));
        TRY(dnnl_primitive_desc_create(&c->d[1].pd, &dd, attr, engine, c->d[0].pd));
        TRY(finish(c, &c->d[1], dnnl_query_weights_md, 0));
        // Without the bias: oneDNN 2.6 sums the bias gradient of channels-last data in a plain SSE loop (8 % of a
        // TCNBench C training step); the caller sums it (tcn_channel_sums).
        TRY(dnnl_dilated_convolution_backward_weights_desc_init(
            &wdsc, dnnl_convolution_direct, &c->x, &anyW, NULL, &c->y, strides, dilates, pl, pr));
        TRY(dnnl_primitive_desc_create(&c->d[2].pd, &wdsc, attr, engine, c->d[0].pd));
        TRY(finish(c, &c->d[2], dnnl_query_diff_weights_md, 1));
    }
    TRY(dnnl_memory_create(&c->mx, &c->x, engine, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&c->my, &c->y, engine, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&c->mw, &c->w, engine, DNNL_MEMORY_NONE));
    TRY(dnnl_memory_create(&c->mb, &c->b, engine, DNNL_MEMORY_NONE));
    dnnl_primitive_attr_destroy(attr);
    return c;
fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
    tcn_dnnl_conv_destroy(c);
    return NULL;
}

/// Runs `p` with `args` (at most 4) and its scratchpad (`size` bytes of the calling thread's buffer).
static dnnl_status_t run(tcn_dnnl_conv *c, dnnl_primitive_t p, dnnl_memory_t scratch, size_t size, int n,
                         const dnnl_exec_arg_t *args) {
    dnnl_exec_arg_t all[5];
    for (int i = 0; i < n; i++) all[i] = args[i];
    if (scratch) {
        void *buffer = thread_scratch(size);
        if (!buffer) return dnnl_out_of_memory;
        dnnl_status_t s = dnnl_memory_set_data_handle(scratch, buffer);
        if (s != dnnl_success) return s;
        all[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch};
    }
    dnnl_status_t s = dnnl_primitive_execute(p, c->stream, n, all);
    return s == dnnl_success ? dnnl_stream_wait(c->stream) : s;
}

/// Reorders the user's `oiw` filter (in `c->mw`) into direction `d`'s layout; returns the memory to use.
static dnnl_status_t weights_in(tcn_dnnl_conv *c, direction *d, dnnl_memory_t *use) {
    *use = c->mw;
    if (!d->reorder) return dnnl_success;
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, c->mw}, {DNNL_ARG_TO, d->weights}};
    *use = d->weights;
    return run(c, d->reorder, d->reorder_scratch, d->reorder_scratch_size, 2, args);
}

#define LOCKED(body)                                                                                                   \
    pthread_mutex_lock(&c->lock);                                                                                      \
    if (set_omp_threads) set_omp_threads(c->threads);                                                                  \
    dnnl_status_t s = (body);                                                                                          \
    pthread_mutex_unlock(&c->lock);                                                                                    \
    return (int)s;

static dnnl_status_t forward(tcn_dnnl_conv *c, const float *x, const float *w, const float *b, float *y) {
    dnnl_status_t s;
    dnnl_memory_t weights;
    if ((s = dnnl_memory_set_data_handle(c->mx, (void *)x)) || (s = dnnl_memory_set_data_handle(c->my, y)) ||
        (s = dnnl_memory_set_data_handle(c->mw, (void *)w)) ||
        (s = dnnl_memory_set_data_handle(c->mb, (void *)(b ? b : w))) || (s = weights_in(c, &c->d[0], &weights)))
        return s;
    dnnl_exec_arg_t args[4] = {
        {DNNL_ARG_SRC, c->mx}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DST, c->my}, {DNNL_ARG_BIAS, c->mb}};
    return run(c, c->d[0].primitive, c->d[0].scratch, c->d[0].scratch_size, c->bias ? 4 : 3, args);
}

int tcn_dnnl_conv_forward(tcn_dnnl_conv *c, const float *x, const float *w, const float *b, float *y) {
    LOCKED(forward(c, x, w, b, y))
}

static dnnl_status_t backward_data(tcn_dnnl_conv *c, const float *dy, const float *w, float *dx) {
    if (!c->training) return dnnl_invalid_arguments;
    dnnl_status_t s;
    dnnl_memory_t weights;
    if ((s = dnnl_memory_set_data_handle(c->mx, dx)) || (s = dnnl_memory_set_data_handle(c->my, (void *)dy)) ||
        (s = dnnl_memory_set_data_handle(c->mw, (void *)w)) || (s = weights_in(c, &c->d[1], &weights)))
        return s;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_DIFF_DST, c->my}, {DNNL_ARG_WEIGHTS, weights}, {DNNL_ARG_DIFF_SRC, c->mx}};
    return run(c, c->d[1].primitive, c->d[1].scratch, c->d[1].scratch_size, 3, args);
}

int tcn_dnnl_conv_backward_data(tcn_dnnl_conv *c, const float *dy, const float *w, float *dx) {
    LOCKED(backward_data(c, dy, w, dx))
}

static dnnl_status_t backward_weights(tcn_dnnl_conv *c, const float *x, const float *dy, float *dw) {
    if (!c->training) return dnnl_invalid_arguments;
    dnnl_status_t s;
    if ((s = dnnl_memory_set_data_handle(c->mx, (void *)x)) || (s = dnnl_memory_set_data_handle(c->my, (void *)dy)) ||
        (s = dnnl_memory_set_data_handle(c->mw, dw)))
        return s;
    direction *d = &c->d[2];
    dnnl_memory_t target = d->reorder ? d->weights : c->mw;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, c->mx}, {DNNL_ARG_DIFF_DST, c->my}, {DNNL_ARG_DIFF_WEIGHTS, target}};
    if ((s = run(c, d->primitive, d->scratch, d->scratch_size, 3, args))) return s;
    if (!d->reorder) return dnnl_success;
    dnnl_exec_arg_t back[2] = {{DNNL_ARG_FROM, d->weights}, {DNNL_ARG_TO, c->mw}};
    return run(c, d->reorder, d->reorder_scratch, d->reorder_scratch_size, 2, back);
}

int tcn_dnnl_conv_backward_weights(tcn_dnnl_conv *c, const float *x, const float *dy, float *dw) {
    LOCKED(backward_weights(c, x, dy, dw))
}
