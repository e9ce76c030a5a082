package io.twinserve.engine.backend.cuda;

import jcuda.driver.CUresult;

/** The name of a CUDA driver API result code, as JCuda knows them ({@code CUDA_ERROR_INVALID_VALUE}, ...). */
final class CudaErrors {
    private CudaErrors() {}

    static String name(int result) {
        String s = CUresult.stringFor(result);
        return s == null || s.startsWith("INVALID CUresult") ? "CUresult " + result : s + " (" + result + ")";
    }
}
