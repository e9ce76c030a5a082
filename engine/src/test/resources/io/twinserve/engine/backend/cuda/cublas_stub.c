/* A stand-in for libcublas.so.13 that records the calls Cublas makes (CublasTest): no GPU needed. */
#include <stdint.h>
#include <string.h>

static long long recorded[32];
static int handle_storage;

int cublasCreate_v2(void **handle) {
    *handle = &handle_storage;
    return 0;
}
int cublasDestroy_v2(void *handle) { return handle == &handle_storage ? 0 : 7; }
int cublasSetStream_v2(void *handle, void *stream) {
    recorded[20] = (long long) (intptr_t) stream;
    return 0;
}
int cublasSetWorkspace_v2(void *handle, void *ws, size_t bytes) {
    recorded[21] = (long long) (intptr_t) ws;
    recorded[22] = (long long) bytes;
    return 0;
}
int cublasSetMathMode(void *handle, int mode) {
    recorded[23] = mode;
    return 0;
}
int cublasGemmEx(void *handle, int transa, int transb, int m, int n, int k, const void *alpha, const void *A,
                 int Atype, int lda, const void *B, int Btype, int ldb, const void *beta, void *C, int Ctype, int ldc,
                 int computeType, int algo) {
    int i = 0;
    recorded[i++] = handle == &handle_storage;
    recorded[i++] = transa;
    recorded[i++] = transb;
    recorded[i++] = m;
    recorded[i++] = n;
    recorded[i++] = k;
    recorded[i++] = (long long) (*(const float *) alpha * 1000);
    recorded[i++] = (long long) (intptr_t) A;
    recorded[i++] = Atype;
    recorded[i++] = lda;
    recorded[i++] = (long long) (intptr_t) B;
    recorded[i++] = Btype;
    recorded[i++] = ldb;
    recorded[i++] = (long long) (*(const float *) beta * 1000);
    recorded[i++] = (long long) (intptr_t) C;
    recorded[i++] = Ctype;
    recorded[i++] = ldc;
    recorded[i++] = computeType;
    recorded[i++] = algo;
    return m == 999 ? 7 : 0; /* CUBLAS_STATUS_INVALID_VALUE, for the error path */
}
const char *cublasGetStatusString(int status) {
    return status == 7 ? "CUBLAS_STATUS_INVALID_VALUE" : "CUBLAS_STATUS_UNKNOWN";
}
long long stub_recorded(int i) { return recorded[i]; }
