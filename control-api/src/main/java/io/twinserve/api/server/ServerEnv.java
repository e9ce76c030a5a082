package io.twinserve.api.server;

import java.nio.file.Path;

/** The environment variables the server reads, with their defaults. */
public final class ServerEnv {
    public static final String DATABASE_URL = "TWINSERVE_DATABASE_URL";
    public static final String REDIS_URL = "TWINSERVE_REDIS_URL";
    public static final String DATA_DIR = "TWINSERVE_DATA_DIR";

    private ServerEnv() {}

    public static String get(String name) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? null : v.strip();
    }

    public static Path dataDir(Path option) {
        if (option != null) {
            return option;
        }
        String env = get(DATA_DIR);
        return Path.of(env != null ? env : "twinserve-data");
    }
}
