package io.twinserve.api;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.core.importer.Location;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.library.dependencies.SlicesRuleDefinition;
import io.twinserve.api.cli.TwinserveCommand;
import io.twinserve.engine.backend.Backend;
import io.twinserve.experiments.whatif.WhatIfRunner;
import io.twinserve.placement.Planner;
import io.twinserve.traces.Request;
import io.twinserve.twin.sched.Scheduler;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The module and package rules of the architecture (docs/architecture.md), over the main code of every
 * module: arrows point one way, the twin never imports the engine, nothing below control-api knows HTTP,
 * SQL or Redis, and the server never imports the command line.
 */
class ArchitectureTest {
    private static JavaClasses classes;

    @BeforeAll
    static void importMainCode() throws Exception {
        // each module's own classes (a folder or a jar, as Maven resolves it), not the whole class path:
        // scanning every dependency for the io.twinserve packages takes longer than all the rules
        Set<Location> modules = new LinkedHashSet<>();
        for (Class<?> c : new Class<?>[] {
            Request.class, Scheduler.class, Planner.class, Backend.class, WhatIfRunner.class, TwinserveCommand.class
        }) {
            modules.add(Location.of(
                    c.getProtectionDomain().getCodeSource().getLocation().toURI()));
        }
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importLocations(modules);
        // the rules below would hold vacuously over nothing: every module must have been imported
        for (String module : new String[] {"traces", "twin", "placement", "engine", "experiments", "api"}) {
            String pkg = "io.twinserve." + module;
            assertThat(classes.stream()
                            .anyMatch(c -> c.getPackageName().equals(pkg)
                                    || c.getPackageName().startsWith(pkg + ".")))
                    .as("main classes of %s imported", pkg)
                    .isTrue();
        }
    }

    private static void holds(ArchRule rule) {
        rule.check(classes);
    }

    @Test
    void tracesDependOnNoOtherModule() {
        holds(noClasses()
                .that()
                .resideInAPackage("io.twinserve.traces..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.twinserve.twin..",
                        "io.twinserve.placement..",
                        "io.twinserve.engine..",
                        "io.twinserve.experiments..",
                        "io.twinserve.api.."));
    }

    @Test
    void twinDependsOnTracesOnlyAndNeverOnTheEngine() {
        holds(noClasses()
                .that()
                .resideInAPackage("io.twinserve.twin..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.twinserve.placement..",
                        "io.twinserve.engine..",
                        "io.twinserve.experiments..",
                        "io.twinserve.api.."));
    }

    @Test
    void placementModelDependsOnTheTwinAndTracesOnly() {
        holds(noClasses()
                .that()
                .resideInAPackage("io.twinserve.placement..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.twinserve.engine..", "io.twinserve.experiments..", "io.twinserve.api.."));
    }

    @Test
    void engineDependsOnTheTwinAndTracesOnly() {
        holds(noClasses()
                .that()
                .resideInAPackage("io.twinserve.engine..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage("io.twinserve.placement..", "io.twinserve.experiments..", "io.twinserve.api.."));
    }

    @Test
    void experimentsNeverDependOnTheApplication() {
        holds(noClasses()
                .that()
                .resideInAPackage("io.twinserve.experiments..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("io.twinserve.api.."));
    }

    @Test
    void nothingBelowTheControlApiKnowsHttpSqlOrRedis() {
        holds(noClasses()
                .that()
                .resideInAnyPackage(
                        "io.twinserve.traces..",
                        "io.twinserve.twin..",
                        "io.twinserve.placement..",
                        "io.twinserve.engine..",
                        "io.twinserve.experiments..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.micronaut..",
                        "org.jooq..",
                        "io.lettuce..",
                        "org.postgresql..",
                        "org.flywaydb..",
                        "io.netty.."));
    }

    @Test
    void theServerNeverImportsTheCommandLine() {
        holds(noClasses()
                .that()
                .resideInAPackage("io.twinserve.api.server..")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("io.twinserve.api.cli.."));
    }

    @Test
    void theCommandLineReachesTheServerOnlyToStartItOrAdministerIt() {
        // serve starts the server, admin talks to its database, the two API benchmarks start a server of their own
        // and the journals' benchmark times the server's usage and interaction recorders; no other command loads the
        // server stack
        holds(noClasses()
                .that()
                .resideInAPackage("io.twinserve.api.cli..")
                .and()
                .haveNameNotMatching(
                        "io\\.twinserve\\.api\\.cli\\.(ServeCommand|AdminCommand|BenchApiCommand|BenchFaultsCommand|BenchJournalsCommand)(\\$.*)?")
                .should()
                .dependOnClassesThat()
                .resideInAPackage("io.twinserve.api.server.."));
    }

    @Test
    void theTwinsPackagesFormNoCycle() {
        // each of the twin's features (sched, kv, adapters, cluster, router, autoscale, ...) points one way;
        // two known cycles are left for now and named here, so that no new one comes in unseen: the memory
        // model reads a ReplicaSpec (deploy, which resolves replicas with the memory model), and the
        // single-replica simulator runs the cluster loop (cluster, which takes sim's RunOptions and RunResult)
        holds(SlicesRuleDefinition.slices()
                .matching("io.twinserve.twin.(*)..")
                .should()
                .beFreeOfCycles()
                .ignoreDependency(
                        JavaClass.Predicates.resideInAPackage("io.twinserve.twin.memory.."),
                        JavaClass.Predicates.resideInAPackage("io.twinserve.twin.deploy.."))
                .ignoreDependency(
                        JavaClass.Predicates.resideInAPackage("io.twinserve.twin.sim.."),
                        JavaClass.Predicates.resideInAPackage("io.twinserve.twin.cluster..")));
    }

    @Test
    void everyPackageSaysWhatItOwnsInAPackageInfo() throws IOException {
        // the tests run in control-api's folder; the modules are its siblings
        Path root = Path.of("").toAbsolutePath().getParent();
        List<Path> missing = new ArrayList<>();
        for (String module :
                new String[] {"traces", "twin", "placement-model", "engine", "experiments", "control-api"}) {
            Path sources = root.resolve(module).resolve("src/main/java");
            assertThat(sources).as("main sources of %s", module).isDirectory();
            try (Stream<Path> dirs = Files.walk(sources)) {
                dirs.filter(Files::isDirectory)
                        .filter(ArchitectureTest::holdsJava)
                        .filter(d -> !Files.exists(d.resolve("package-info.java")))
                        .map(root::relativize)
                        .forEach(missing::add);
            }
        }
        assertThat(missing)
                .as("packages of main code without a package-info.java")
                .isEmpty();
    }

    private static boolean holdsJava(Path dir) {
        try (Stream<Path> files = Files.list(dir)) {
            return files.anyMatch(f -> f.toString().endsWith(".java"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
