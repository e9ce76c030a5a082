package io.twinserve.api.server;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * What the tests that start servers of their own share: a call with a bearer key (and a JSON body when there is one)
 * over HTTP/1.1, and the options of a second instance on a first one's PostgreSQL and Redis.
 */
final class KeyedHttp {
    private static final HttpClient CLIENT = HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5))
            .build();

    private KeyedHttp() {}

    /** {@code method path} on {@code base} with {@code key}; {@code body} (JSON) may be null. */
    static HttpResponse<String> send(URI base, String key, String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + key);
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(
                method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        return CLIENT.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    /**
     * A first server instance's options: the test database and Redis when configured (TWINSERVE_TEST_DATABASE_URL,
     * TWINSERVE_TEST_REDIS_URL), otherwise embedded ones in {@code dataDir}; the instance that runs the jobs.
     */
    static TwinserveServer.Options firstInstance(Path dataDir) {
        return new TwinserveServer.Options(
                dataDir,
                System.getenv("TWINSERVE_TEST_DATABASE_URL"),
                System.getenv("TWINSERVE_TEST_REDIS_URL"),
                "127.0.0.1",
                0,
                true,
                Map.of());
    }

    /** A second server instance's options: its own data folder, {@code first}'s database and Redis. */
    static TwinserveServer.Options secondInstance(TwinserveServer first, Path dataDir) {
        var db = first.services().database();
        String jdbc = db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "user=" + db.user()
                + (db.password() == null || db.password().isEmpty() ? "" : "&password=" + db.password());
        return new TwinserveServer.Options(
                dataDir, jdbc, first.services().redis().toString(), "127.0.0.1", 0, false, Map.of());
    }
}
