/* A stand-in for libcuda.so.1's cuLaunchKernel that records what it was called with, so that the FFM binding's
   argument order and parameter block can be checked without a GPU (FfmLauncherTest). */
#include <stdint.h>
#include <string.h>

static long long recorded[16];

int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                   unsigned shared, void *stream, void **params, void **extra) {
    int n = 0;
    recorded[n++] = (long long) (intptr_t) f;
    recorded[n++] = gx;
    recorded[n++] = gy;
    recorded[n++] = gz;
    recorded[n++] = bx;
    recorded[n++] = by;
    recorded[n++] = bz;
    recorded[n++] = shared;
    recorded[n++] = (long long) (intptr_t) stream;
    for (int i = 0; i < 4; i++) {
        long long v;
        memcpy(&v, params[i], sizeof v);
        recorded[n++] = v;
    }
    recorded[n++] = extra == 0;
    return gx == 999 ? 1 : 0; /* CUDA_ERROR_INVALID_VALUE, for the error path */
}

long long stub_recorded(int i) {
    return recorded[i];
}
