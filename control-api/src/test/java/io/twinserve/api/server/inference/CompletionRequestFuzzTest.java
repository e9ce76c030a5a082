package io.twinserve.api.server.inference;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.ApiException;
import io.twinserve.api.server.Bodies;
import io.twinserve.api.server.auth.Principal;
import io.twinserve.api.server.auth.Role;
import io.twinserve.api.server.infra.Redis;
import java.io.IOException;
import java.io.InputStream;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import redis.embedded.RedisServer;

/**
 * Coverage-guided fuzzing of {@code /v1/chat/completions} and {@code /v1/completions} bodies through
 * {@link CompletionRequest#parse}, as the controller calls it for an operator's key: the body as JSON, its
 * field scan (honoured, unsupported, ignored, else refused with a did-you-mean) and {@code model}. The
 * deployment manager is the server's own, on a real (embedded) Redis, with no deployment started (starting one
 * needs the registry's database), so every body that gets past the field checks is answered 404 for its
 * model. Each input must be refused with a 4xx {@link ApiException} carrying a message; anything else would be
 * a 500 and is a crash.
 *
 * <p>Input layout: the first byte chooses chat (even) or plain completions (odd); the rest is the body.
 */
class CompletionRequestFuzzTest {
    private static final Principal OPERATOR = new Principal(1, 1, "fuzz", Role.OPERATOR, Map.of());
    private static Path redisDir;
    private static RedisServer redisServer;
    private static Redis redis;
    private static DeploymentManager deployments;

    @BeforeAll
    static void startRedis() throws IOException {
        redisDir = Files.createTempDirectory("twinserve-fuzz-redis");
        Path binary = redisDir.resolve("redis-server");
        try (InputStream in = RedisServer.class.getResourceAsStream("/redis-server-6.2.6-v5-linux-amd64")) {
            Files.copy(in, binary);
        }
        binary.toFile().setExecutable(true);
        int port;
        try (ServerSocket socket = new ServerSocket(0)) {
            port = socket.getLocalPort();
        }
        redisServer = RedisServer.newRedisServer()
                .executableProvider(binary::toFile)
                .bind("127.0.0.1")
                .port(port)
                .setting("dir " + redisDir.toAbsolutePath())
                .setting("save \"\"")
                .build();
        redisServer.start();
        redis = new Redis("redis://127.0.0.1:" + port, 10_000);
        deployments = new DeploymentManager(null, null, redis);
    }

    @AfterAll
    static void stopRedis() throws IOException {
        if (deployments != null) {
            deployments.close();
        }
        if (redis != null) {
            redis.close();
        }
        if (redisServer != null) {
            redisServer.stop();
        }
        try (Stream<Path> files = Files.walk(redisDir)) {
            files.sorted(Comparator.reverseOrder())
                    .forEach(path -> path.toFile().delete());
        }
    }

    @FuzzTest(maxDuration = "10s")
    void refusesWithA4xxNamingTheField(byte[] input) {
        boolean chat = input.length == 0 || (input[0] & 1) == 0;
        byte[] body = input.length == 0 ? input : java.util.Arrays.copyOfRange(input, 1, input.length);
        try {
            ObjectNode json = Bodies.object(body);
            CompletionRequest.parse(json, chat, OPERATOR, deployments, null);
            throw new AssertionError("no deployment runs, yet a request was accepted: " + json);
        } catch (ApiException e) {
            assertThat(e.status().getCode()).isIn(400, 404);
            assertThat(e.getMessage()).isNotBlank();
            if (e.param() != null) {
                assertThat(e.getMessage()).as("the message names the field").contains(e.param());
            }
        }
    }
}
