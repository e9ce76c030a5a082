package io.twinserve.api.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A closed-loop HTTP/1.1 load generator for {@code bench api}: {@code connections} keep-alive connections,
 * each sending the same request again as soon as its answer is in, for a duration. The default client is
 * one thread over non-blocking sockets, so that on a small machine the client takes as little CPU from the
 * server as possible; the JDK's {@link HttpClient} is there to compare.
 */
final class HttpLoad {
    /** What a run measured: answers by kind, and the latency of every answer in nanoseconds, sorted. */
    record Result(long ok, long errors, long[] latenciesNs, double seconds, String firstError) {
        double requestsPerSecond() {
            return (ok + errors) / seconds;
        }

        double meanMs() {
            if (latenciesNs.length == 0) {
                return Double.NaN;
            }
            double sum = 0;
            for (long l : latenciesNs) {
                sum += l;
            }
            return sum / latenciesNs.length / 1e6;
        }

        double percentileMs(double p) {
            if (latenciesNs.length == 0) {
                return Double.NaN;
            }
            int i = (int) Math.min(latenciesNs.length - 1, Math.max(0, Math.ceil(p / 100.0 * latenciesNs.length) - 1));
            return latenciesNs[i] / 1e6;
        }
    }

    /** Which client sends the requests. */
    enum Client {
        RAW,
        JDK
    }

    private HttpLoad() {}

    /**
     * The bytes of a request; {@code body} null for a GET.
     */
    static byte[] request(URI server, String method, String path, String key, String body) {
        byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        String head = method + " " + path + " HTTP/1.1\r\nHost: " + server.getHost() + ":" + server.getPort()
                + "\r\nAuthorization: Bearer " + key + "\r\nAccept: application/json\r\n"
                + (body == null ? "" : "Content-Type: application/json\r\nContent-Length: " + b.length + "\r\n")
                + "\r\n";
        byte[] h = head.getBytes(StandardCharsets.US_ASCII);
        byte[] all = Arrays.copyOf(h, h.length + b.length);
        System.arraycopy(b, 0, all, h.length, b.length);
        return all;
    }

    static Result run(
            Client client,
            URI server,
            String method,
            String path,
            String key,
            String body,
            int connections,
            double seconds)
            throws IOException, InterruptedException {
        return client == Client.RAW
                ? raw(server, request(server, method, path, key, body), connections, seconds)
                : jdk(server, method, path, key, body, connections, seconds);
    }

    // ---- one thread, non-blocking sockets

    /** One connection's state: the request going out, then the answer coming in. */
    private static final class Connection {
        final SocketChannel channel;
        final ByteBuffer out;
        ByteBuffer in = ByteBuffer.allocate(16 * 1024);
        long sentNs;
        int headerEnd = -1;
        int status;
        long bodyLength = -1;
        boolean chunked;

        Connection(SocketChannel channel, byte[] request) {
            this.channel = channel;
            this.out = ByteBuffer.wrap(request);
        }
    }

    private static Result raw(URI server, byte[] request, int connections, double seconds) throws IOException {
        InetSocketAddress address = new InetSocketAddress(server.getHost(), server.getPort());
        LongList latencies = new LongList();
        long ok = 0;
        long errors = 0;
        String firstError = null;
        try (Selector selector = Selector.open()) {
            List<Connection> all = new ArrayList<>();
            for (int i = 0; i < connections; i++) {
                SocketChannel ch = SocketChannel.open(address);
                ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
                ch.configureBlocking(false);
                Connection c = new Connection(ch, request);
                all.add(c);
                ch.register(selector, SelectionKey.OP_WRITE, c);
            }
            long startNs = System.nanoTime();
            long endNs = startNs + (long) (seconds * 1e9);
            int open = connections;
            for (Connection c : all) {
                c.sentNs = startNs;
            }
            while (open > 0) {
                selector.select(100);
                long now = System.nanoTime();
                var keys = selector.selectedKeys();
                for (var it = keys.iterator(); it.hasNext(); ) {
                    SelectionKey k = it.next();
                    it.remove();
                    Connection c = (Connection) k.attachment();
                    try {
                        if (k.isWritable()) {
                            c.channel.write(c.out);
                            if (!c.out.hasRemaining()) {
                                k.interestOps(SelectionKey.OP_READ);
                            }
                        } else if (k.isReadable()) {
                            if (c.channel.read(c.in) < 0) {
                                throw new IOException("the server closed the connection");
                            }
                            int done = answered(c);
                            if (done == 0) {
                                if (!c.in.hasRemaining()) {
                                    c.in = ByteBuffer.allocate(c.in.capacity() * 2)
                                            .put(c.in.flip());
                                }
                                continue;
                            }
                            latencies.add(now - c.sentNs);
                            if (c.status == 200) {
                                ok++;
                            } else {
                                errors++;
                                if (firstError == null) {
                                    firstError = "HTTP " + c.status + ": "
                                            + new String(
                                                    c.in.array(),
                                                    c.headerEnd,
                                                    Math.min(300, done - c.headerEnd),
                                                    StandardCharsets.UTF_8);
                                }
                            }
                            // keep anything after this answer (there is none in a closed loop) and start the next
                            // request
                            c.in.flip().position(done);
                            c.in.compact();
                            c.headerEnd = -1;
                            c.bodyLength = -1;
                            c.chunked = false;
                            if (now >= endNs) {
                                k.cancel();
                                c.channel.close();
                                open--;
                                continue;
                            }
                            c.out.rewind();
                            c.sentNs = System.nanoTime();
                            c.channel.write(c.out);
                            k.interestOps(c.out.hasRemaining() ? SelectionKey.OP_WRITE : SelectionKey.OP_READ);
                        }
                    } catch (IOException e) {
                        errors++;
                        if (firstError == null) {
                            firstError = e.toString();
                        }
                        k.cancel();
                        c.channel.close();
                        open--;
                    }
                }
                if (System.nanoTime() > endNs + 30_000_000_000L) {
                    errors += open;
                    firstError = firstError != null ? firstError : open + " answers missing 30 s after the end";
                    break;
                }
            }
            double elapsed = (System.nanoTime() - startNs) / 1e9;
            long[] sorted = latencies.toArray();
            Arrays.sort(sorted);
            return new Result(ok, errors, sorted, elapsed, firstError);
        }
    }

    /**
     * Parses what has arrived of an answer: the offset just past its end once it is complete, else 0.
     */
    private static int answered(Connection c) throws IOException {
        byte[] b = c.in.array();
        int n = c.in.position();
        if (c.headerEnd < 0) {
            int end = indexOf(b, n, 0);
            if (end < 0) {
                return 0;
            }
            c.headerEnd = end + 4;
            // "HTTP/1.1 200 OK"
            c.status = (b[9] - '0') * 100 + (b[10] - '0') * 10 + (b[11] - '0');
            String head = new String(b, 0, end, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            int cl = head.indexOf("\r\ncontent-length:");
            if (cl >= 0) {
                int from = cl + "\r\ncontent-length:".length();
                int to = head.indexOf("\r\n", from);
                c.bodyLength = Long.parseLong(
                        head.substring(from, to < 0 ? head.length() : to).strip());
            } else if (head.contains("\r\ntransfer-encoding: chunked")) {
                c.chunked = true;
            } else {
                throw new IOException("an answer with neither content-length nor chunked encoding: " + head);
            }
        }
        if (!c.chunked) {
            long total = c.headerEnd + c.bodyLength;
            return n >= total ? (int) total : 0;
        }
        // chunked: walk the chunks that have arrived, up to the last (zero-size) one
        int p = c.headerEnd;
        while (true) {
            int lineEnd = -1;
            for (int i = p; i + 1 < n; i++) {
                if (b[i] == '\r' && b[i + 1] == '\n') {
                    lineEnd = i;
                    break;
                }
            }
            if (lineEnd < 0) {
                return 0;
            }
            String size = new String(b, p, lineEnd - p, StandardCharsets.ISO_8859_1);
            int semi = size.indexOf(';');
            int length = Integer.parseInt((semi < 0 ? size : size.substring(0, semi)).strip(), 16);
            int next = lineEnd + 2 + length + 2;
            if (next > n) {
                return 0;
            }
            if (length == 0) {
                return next;
            }
            p = next;
        }
    }

    private static int indexOf(byte[] b, int n, int from) {
        for (int i = Math.max(3, from + 3); i < n; i++) {
            if (b[i] == '\n' && b[i - 1] == '\r' && b[i - 2] == '\n' && b[i - 3] == '\r') {
                return i - 3;
            }
        }
        return -1;
    }

    // ---- the JDK's client, one virtual thread per connection

    private static Result jdk(
            URI server, String method, String path, String key, String body, int connections, double seconds)
            throws InterruptedException {
        HttpClient http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(Duration.ofSeconds(10))
                .build();
        HttpRequest request = HttpRequest.newBuilder(server.resolve(path))
                .timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .method(
                        method,
                        body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
        LongList latencies = new LongList();
        ReentrantLock lock = new ReentrantLock();
        AtomicLong ok = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        String[] firstError = new String[1];
        long startNs = System.nanoTime();
        long endNs = startNs + (long) (seconds * 1e9);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < connections; i++) {
            threads.add(Thread.ofVirtual().start(() -> {
                LongList mine = new LongList();
                while (System.nanoTime() < endNs) {
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
                        mine.add(System.nanoTime() - t0);
                        if (r.statusCode() == 200) {
                            ok.incrementAndGet();
                        } else {
                            errors.incrementAndGet();
                            lock.lock();
                            try {
                                if (firstError[0] == null) {
                                    firstError[0] = "HTTP " + r.statusCode() + ": "
                                            + new String(r.body(), StandardCharsets.UTF_8);
                                }
                            } finally {
                                lock.unlock();
                            }
                        }
                    } catch (IOException | InterruptedException e) {
                        errors.incrementAndGet();
                        firstError[0] = firstError[0] != null ? firstError[0] : e.toString();
                        return;
                    }
                }
                lock.lock();
                try {
                    latencies.addAll(mine);
                } finally {
                    lock.unlock();
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        http.close();
        double elapsed = (System.nanoTime() - startNs) / 1e9;
        long[] sorted = latencies.toArray();
        Arrays.sort(sorted);
        return new Result(ok.get(), errors.get(), sorted, elapsed, firstError[0]);
    }

    /** A growable list of longs (latencies), without boxing. */
    private static final class LongList {
        private long[] values = new long[1 << 16];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        void addAll(LongList other) {
            for (int i = 0; i < other.size; i++) {
                add(other.values[i]);
            }
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
