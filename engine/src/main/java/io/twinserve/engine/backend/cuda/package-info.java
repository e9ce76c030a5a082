/**
 * The CUDA backend (issue 20, under way): the driver layer over JCuda ({@link
 * io.twinserve.engine.backend.cuda.CudaDriver}), the kernels' fatbin built from {@code engine/src/main/cuda}
 * ({@link io.twinserve.engine.backend.cuda.CudaKernels}) and the device memory plan ({@link
 * io.twinserve.engine.backend.cuda.CudaMemoryPlan}). Nothing here loads a native library until a CUDA backend
 * is asked for, so the CPU build and the CPU backend never need CUDA.
 */
package io.twinserve.engine.backend.cuda;
