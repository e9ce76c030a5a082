package io.twinserve.twin.profile;

/** A profile that is unknown or malformed: names the profile or file and what was expected. */
public final class ProfileException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ProfileException(String message) {
        super(message);
    }
}
