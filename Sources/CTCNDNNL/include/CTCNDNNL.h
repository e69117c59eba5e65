// A thin C layer over oneDNN (Debian's libdnnl, the library PyTorch runs its CPU convolutions on) for TCN's
// channels-last engine: one object per convolution shape holding its forward, input-gradient and weight-gradient
// primitives. Activations are `nwc` ([batch, time, channels], contiguous); filters are PyTorch's `oiw`
// ([out, in, kernel]), reordered inside to whatever layout the chosen kernels want.
#ifndef CTCNDNNL_H
#define CTCNDNNL_H

#ifdef __cplusplus
extern "C" {
#endif

/// One convolution shape's primitives (opaque).
typedef struct tcn_dnnl_conv tcn_dnnl_conv;

/// The primitives of a stride-1 dilated convolution over `batch × time` steps, `in → out` channels, `kernel` taps
/// `dilation` apart, `left` and `right` zero steps of padding (`left + right = (kernel − 1) · dilation`, so the output
/// has `time` steps), with a bias when `bias` ≠ 0, and the forward pass followed by a ReLU (a oneDNN post-op) when
/// `relu` ≠ 0. With `training` ≠ 0 the input- and weight-gradient primitives are created too (they take the gradient
/// of the convolution itself, before any ReLU). `threads` is the OpenMP thread count the primitives run on (oneDNN
/// sizes its work split by it). Returns NULL when oneDNN cannot create them (TCN then runs the pass on its im2col
/// engine).
tcn_dnnl_conv *tcn_dnnl_conv_create(int batch, int in, int out, int time, int kernel, int dilation, int left,
                                    int right, int bias, int relu, int training, int threads);

/// Frees the primitives.
void tcn_dnnl_conv_destroy(tcn_dnnl_conv *conv);

/// y (`nwc`, `[batch, time, out]`) = conv(x (`nwc`, `[batch, time, in]`), w (`oiw`)) + b (`[out]`, or NULL without
/// a bias), then ReLU when created with `relu`. Returns 0 on success, else a oneDNN status.
int tcn_dnnl_conv_forward(tcn_dnnl_conv *conv, const float *x, const float *w, const float *b, float *y);

/// dx (`nwc`, `[batch, time, in]`) = the input gradient for output gradient dy (`nwc`, `[batch, time, out]`).
/// Needs `training`. Returns 0 on success.
int tcn_dnnl_conv_backward_data(tcn_dnnl_conv *conv, const float *dy, const float *w, float *dx);

/// dw (`oiw`) = the filter gradient (overwritten, not added) for input x and output gradient dy. Needs `training`.
/// The bias gradient is the caller's: the sum of dy over batch and time. Returns 0 on success.
int tcn_dnnl_conv_backward_weights(tcn_dnnl_conv *conv, const float *x, const float *dy, float *dw);

/// A range body for `tcn_parallel_for`: handles items `lo..<hi`.
typedef void (*tcn_range_body)(void *context, long lo, long hi);

/// Calls `body` on contiguous ranges covering `0..<count`, one per thread on up to `threads` threads of oneDNN's
/// OpenMP pool (the caller's thread takes the first), each at least `grain` long; returns when all are done.
/// The channels-last engine runs its element-wise passes here so that, between convolutions, only OpenMP's threads
/// are busy (a second pool spinning beside them costs both).
void tcn_parallel_for(long count, long grain, int threads, tcn_range_body body, void *context);

#ifdef __cplusplus
}
#endif

#endif
