package io.twinserve.engine.backend.cuda;

/**
 * CUDA cannot be used here: no driver, no device, or a driver call that failed. The message is one line a
 * user can act on; the command line prints it as it is.
 */
public final class CudaUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CudaUnavailableException(String message) {
        super(message);
    }

    public CudaUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
