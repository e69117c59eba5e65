#include <cblas.h>
// glibc's `mallopt`, used by the TCN module next to `openblas_set_num_threads` (see TCNThreads.processSetUp).
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif
