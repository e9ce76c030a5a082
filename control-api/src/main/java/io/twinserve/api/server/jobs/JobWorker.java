package io.twinserve.api.server.jobs;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.twinserve.api.server.Bodies;
import io.twinserve.experiments.report.ReportJson;
import io.twinserve.experiments.whatif.Progress;
import java.io.BufferedReader;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The main class of a job's worker JVM, which the server starts with its own java binary and class path and
 * the job budget's heap and processors ({@link JobWorkers}). It reads the job from standard input as one JSON
 * line ({@code {"job", "kind", "request", "dir"}}), runs it as the server did in-process ({@link JobWork}),
 * and writes JSON lines to standard output: {@code ready}, {@code progress} ({@code progress}, {@code
 * message}), then {@code succeeded} with {@code result} or {@code failed} with {@code error} (a sentence for
 * the job's owner, {@link JobFailure}) or {@code out_of_memory}. Logs and anything else printed go to
 * standard error. It exits as soon as its standard input closes or its parent process ends, so a server
 * killed with {@code kill -9} leaves no worker behind, and a worker cannot write anywhere but to the pipe
 * of the server that started it.
 */
public final class JobWorker {
    /** Exit status when the server went away before the job finished. */
    static final int ORPHANED = 3;

    /** Heap kept back so that a worker out of memory can still say so. */
    private static byte[] reserve = new byte[256 * 1024];

    private JobWorker() {}

    public static void main(String[] args) throws IOException {
        // standard output is the pipe to the server: nothing else may write to it
        PrintStream protocol = new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.setOut(System.err);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        String line = in.readLine();
        if (line == null) {
            System.exit(ORPHANED);
        }
        watchParent(in);
        Channel out = new Channel(protocol);
        out.send(out.message("ready"));
        ObjectNode job = (ObjectNode) Bodies.JSON.readTree(line);
        String id = job.path("job").asText();
        int status = 0;
        try {
            Path dir = Path.of(job.path("dir").asText());
            Files.createDirectories(dir);
            JobWork work = JobWork.read(job.path("kind").asText(), (ObjectNode) job.get("request"), dir);
            Object document = work.run(new ProgressLines(out));
            // the stored result is the JSON the command line prints with --json
            JsonNode result = Bodies.JSON.readTree(ReportJson.write(document));
            ObjectNode done = out.message("succeeded");
            done.set("result", result);
            out.send(done);
        } catch (OutOfMemoryError e) {
            reserve = null;
            ObjectNode failed = out.message("failed");
            failed.put("out_of_memory", true);
            out.send(failed);
            System.err.println("job " + id + " ran out of memory: " + e);
            status = 1;
        } catch (Exception | Error e) {
            reserve = null;
            ObjectNode failed = out.message("failed");
            failed.put("error", JobFailure.describe(id, e));
            out.send(failed);
            System.err.println("job " + id + " failed:");
            e.printStackTrace(System.err);
            status = 1;
        }
        System.exit(status);
    }

    /**
     * Ends this JVM when the server is gone: its end of standard input closes (whatever way it ended, {@code
     * kill -9} included) or, should the pipe be held elsewhere, the parent process exits.
     */
    private static void watchParent(BufferedReader in) {
        Thread t = new Thread(
                () -> {
                    try {
                        while (in.read() >= 0) {
                            // nothing more is sent after the job; reading only waits for the end
                        }
                    } catch (IOException e) {
                        // a broken pipe is the same news as its end
                    }
                    Runtime.getRuntime().halt(ORPHANED);
                },
                "twinserve-worker-parent");
        t.setDaemon(true);
        t.start();
        ProcessHandle.current()
                .parent()
                .ifPresent(p -> p.onExit().thenRun(() -> Runtime.getRuntime().halt(ORPHANED)));
    }

    /** JSON lines to the server, one whole line at a time. */
    private record Channel(PrintStream stream) {
        ObjectNode message(String type) {
            ObjectNode m = Bodies.JSON.createObjectNode();
            m.put("type", type);
            return m;
        }

        synchronized void send(ObjectNode message) {
            stream.print(message.toString());
            stream.print('\n');
            stream.flush();
            if (stream.checkError()) {
                // the server closed its end: nobody waits for this job any more
                Runtime.getRuntime().halt(ORPHANED);
            }
        }
    }

    /** Progress as lines to the server, at most twenty a second (and the last). */
    private static final class ProgressLines implements Progress {
        private final Channel out;
        private long lastNs;

        ProgressLines(Channel out) {
            this.out = out;
        }

        @Override
        public synchronized void update(double fraction, String stage) {
            long now = System.nanoTime();
            if (now - lastNs > 50_000_000L || fraction >= 1) {
                lastNs = now;
                ObjectNode m = out.message("progress");
                m.put("progress", fraction);
                m.put("message", stage);
                out.send(m);
            }
        }
    }
}
