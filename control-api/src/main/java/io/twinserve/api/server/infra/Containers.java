package io.twinserve.api.server.infra;

import java.net.URI;
import java.util.List;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.utility.DockerImageName;

/** PostgreSQL and Redis in containers, for tests on machines with a Docker engine. */
final class Containers {
    private static Boolean docker;

    private Containers() {}

    static synchronized boolean dockerAvailable() {
        if (docker == null) {
            try {
                docker = DockerClientFactory.instance().isDockerAvailable();
            } catch (RuntimeException | LinkageError e) {
                docker = false;
            }
        }
        return docker;
    }

    static DataServices.Database postgres(List<AutoCloseable> started) {
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse("postgres:17"))
                .withEnv("POSTGRES_PASSWORD", "twinserve")
                .withExposedPorts(5432)
                .waitingFor(Wait.forLogMessage(".*database system is ready to accept connections.*", 2));
        c.start();
        started.add(c::stop);
        return new DataServices.Database(
                "jdbc:postgresql://" + c.getHost() + ":" + c.getMappedPort(5432) + "/postgres",
                "postgres",
                "twinserve",
                "container");
    }

    static URI redis(List<AutoCloseable> started) {
        GenericContainer<?> c = new GenericContainer<>(DockerImageName.parse("redis:7")).withExposedPorts(6379);
        c.start();
        started.add(c::stop);
        return URI.create("redis://" + c.getHost() + ":" + c.getMappedPort(6379));
    }
}
