package io.twinserve.api.cli;

import java.io.PrintWriter;
import java.io.StringWriter;

/** Test helper: runs the command line in-process and captures its streams. */
record Cli(int exitCode, String out, String err) {
    static Cli run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = TwinserveCommand.execute(args, new PrintWriter(out), new PrintWriter(err));
        return new Cli(code, out.toString(), err.toString());
    }
}
