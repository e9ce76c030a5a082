package io.twinserve.api.cli;

import io.twinserve.api.server.ServerEnv;
import io.twinserve.api.server.TwinserveServer;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve serve}: the control API. */
@Command(
        name = "serve",
        mixinStandardHelpOptions = true,
        description = {
            "Runs the control API: OpenAI-compatible inference (live and simulated deployments), the registry,"
                    + " what-if simulations and plans as jobs, keys and permissions, metrics.",
            "",
            "With no TWINSERVE_DATABASE_URL / TWINSERVE_REDIS_URL it starts an embedded PostgreSQL and Redis with their data"
                    + " under --data-dir. Other settings come from the environment: TWINSERVE_SERVER_TIMEOUT_SECONDS (60),"
                    + " TWINSERVE_SHUTDOWN_GRACE_SECONDS (30), TWINSERVE_RETAIN_TEXT (false), TWINSERVE_MAX_REQUEST_BYTES"
                    + " (1048576). See docs/serve.md.",
            "",
            "Jobs run in worker JVMs of their own: TWINSERVE_JOBS_WORKERS (2 at once), TWINSERVE_JOBS_HEAP (2g each),"
                    + " TWINSERVE_JOBS_CPUS (1 each), TWINSERVE_JOBS_MAX_SECONDS (3600), TWINSERVE_JOBS_PER_USER (4 queued"
                    + " or running)."
        },
        footer = {
            "",
            "Examples:",
            "  twinserve serve",
            "  twinserve admin create-key --role admin",
            "  TWINSERVE_DATABASE_URL=postgresql://u:p@db:5432/twinserve TWINSERVE_REDIS_URL=redis://cache:6379 twinserve serve --host 0.0.0.0"
        })
final class ServeCommand implements Callable<Integer> {
    @Option(
            names = "--port",
            defaultValue = "8080",
            description = "HTTP port (0 picks a free one; default ${DEFAULT-VALUE})")
    int port;

    @Option(
            names = "--host",
            defaultValue = "127.0.0.1",
            description = "address to listen on (default ${DEFAULT-VALUE})")
    String host;

    @Option(
            names = "--data-dir",
            description = "where embedded PostgreSQL and Redis keep their data"
                    + " (default $TWINSERVE_DATA_DIR or ./twinserve-data)")
    Path dataDir;

    @Override
    public Integer call() throws Exception {
        Path dir = ServerEnv.dataDir(dataDir);
        TwinserveServer server = TwinserveServer.start(new TwinserveServer.Options(
                dir,
                ServerEnv.get(ServerEnv.DATABASE_URL),
                ServerEnv.get(ServerEnv.REDIS_URL),
                host,
                port,
                false,
                Map.of()));
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime()
                .addShutdownHook(new Thread(
                        () -> {
                            server.close();
                            stopped.countDown();
                        },
                        "twinserve-shutdown"));
        System.out.println("twinserve serving on " + server.uri() + "  (data: " + dir.toAbsolutePath() + ")");
        System.out.println("API reference: " + server.uri() + "/docs/api");
        System.out.println("create a key with: twinserve admin create-key --role admin"
                + (dataDir != null ? " --data-dir " + dataDir : ""));
        System.out.flush();
        stopped.await();
        return 0;
    }
}
