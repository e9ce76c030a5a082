package io.twinserve.api.cli;

import io.twinserve.api.server.AdminDatabase;
import io.twinserve.api.server.ServerEnv;
import io.twinserve.api.server.auth.Role;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code twinserve admin}: keys and grants straight in the database (the way in before any key exists). */
@Command(
        name = "admin",
        mixinStandardHelpOptions = true,
        description = {
            "Administers keys and permissions directly in the server's database: the running server's"
                    + " (found through DATA_DIR/services.json), TWINSERVE_DATABASE_URL, or the embedded one in --data-dir."
        },
        subcommands = {AdminCommand.CreateKey.class, AdminCommand.RevokeKey.class, AdminCommand.Grant.class})
final class AdminCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    static class DataDirOption {
        @Option(
                names = "--data-dir",
                description = "the server's data folder (default $TWINSERVE_DATA_DIR or ./twinserve-data)")
        Path dataDir;
    }

    @Command(
            name = "create-key",
            mixinStandardHelpOptions = true,
            description = "Creates an API key and prints it once (only its hash is stored).",
            footer = {
                "",
                "Examples:",
                "  twinserve admin create-key --role admin",
                "  twinserve admin create-key --user alice --role user"
            })
    static final class CreateKey implements Callable<Integer> {
        @CommandLine.Mixin
        DataDirOption data = new DataDirOption();

        @Option(
                names = "--role",
                defaultValue = "user",
                description = "admin, operator or user (default ${DEFAULT-VALUE})")
        String role;

        @Option(names = "--user", description = "the key's user, created if absent (default: the role's name)")
        String user;

        @Override
        public Integer call() {
            Role r = Role.parse("--role", role);
            try (AdminDatabase db = AdminDatabase.open(ServerEnv.dataDir(data.dataDir))) {
                var created = db.access().createKey(user == null ? r.wire() : user, r);
                System.out.println(created.key());
                System.err.println("key " + created.id() + " for user '" + created.user() + "' (" + created.role()
                        + "); it is shown only now");
            }
            return 0;
        }
    }

    @Command(name = "revoke-key", mixinStandardHelpOptions = true, description = "Revokes an API key by id.")
    static final class RevokeKey implements Callable<Integer> {
        @CommandLine.Mixin
        DataDirOption data = new DataDirOption();

        @CommandLine.Parameters(paramLabel = "ID", description = "the key's id")
        long id;

        @Override
        public Integer call() {
            try (AdminDatabase db = AdminDatabase.open(ServerEnv.dataDir(data.dataDir))) {
                db.access().revokeKey(id);
                System.out.println("revoked key " + id);
            }
            return 0;
        }
    }

    @Command(
            name = "grant",
            mixinStandardHelpOptions = true,
            description = "Lets a user run inference on a deployment (every adapter, or one with --adapter).")
    static final class Grant implements Callable<Integer> {
        @CommandLine.Mixin
        DataDirOption data = new DataDirOption();

        @Option(names = "--user", required = true)
        String user;

        @Option(names = "--deployment", required = true)
        String deployment;

        @Option(names = "--adapter", description = "only this adapter (default: all of them and the base model)")
        String adapter;

        @Override
        public Integer call() {
            try (AdminDatabase db = AdminDatabase.open(ServerEnv.dataDir(data.dataDir))) {
                long id = db.access().grant(user, deployment, adapter);
                System.out.println("permission " + id + ": " + user + " -> " + deployment
                        + (adapter == null ? "" : ":" + adapter));
            }
            return 0;
        }
    }
}
