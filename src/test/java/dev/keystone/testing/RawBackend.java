package dev.keystone.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend written byte by byte on a plain socket, for the failures a well-behaved HTTP server
 * never shows: closing a kept-alive connection instead of answering, answering before the upload
 * is read, going silent, sending trailers. Each accepted connection runs {@link Script} on its
 * own thread. Health checks of the gateway are answered 200 by {@link Conn#readRequest()} itself,
 * so scripts see only proxied requests.
 */
public final class RawBackend implements AutoCloseable {

  /** What the backend does with one connection. */
  @FunctionalInterface
  public interface Script {
    void run(Conn conn) throws Exception;
  }

  /** A request as it arrived: head and (when framed) body. */
  public record Request(String method, String target, String version, List<String[]> headers, byte[] body) {

    public String header(String name) {
      for (String[] h : headers) {
        if (h[0].equalsIgnoreCase(name)) {
          return h[1];
        }
      }
      return null;
    }

    public List<String> all(String name) {
      List<String> out = new ArrayList<>();
      for (String[] h : headers) {
        if (h[0].equalsIgnoreCase(name)) {
          out.add(h[1]);
        }
      }
      return out;
    }

    public String bodyText() {
      return new String(body, StandardCharsets.ISO_8859_1);
    }
  }

  private final ServerSocket server;
  private final Script script;
  private final List<Request> requests = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new CopyOnWriteArrayList<>();
  private final AtomicInteger connections = new AtomicInteger();
  private final AtomicInteger proxiedConnections = new AtomicInteger();
  private volatile boolean closed;

  public RawBackend(Script script) {
    this.script = script;
    try {
      server = new ServerSocket(0, 200, InetAddress.getLoopbackAddress());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    Thread acceptor = new Thread(this::accept, "raw-backend-" + server.getLocalPort());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  private void accept() {
    while (!closed) {
      try {
        Socket s = server.accept();
        sockets.add(s);
        int index = connections.incrementAndGet();
        Thread t = new Thread(() -> {
          Conn c = new Conn(s, index);
          try {
            script.run(c);
          } catch (Exception e) {
            // a script that hits a closed socket ends its connection
          } finally {
            c.close();
          }
        }, "raw-backend-conn-" + index);
        t.setDaemon(true);
        t.start();
      } catch (IOException e) {
        return;
      }
    }
  }

  public int port() {
    return server.getLocalPort();
  }

  public String url() {
    return "http://127.0.0.1:" + port();
  }

  /** Every proxied request that arrived (head read), in order. */
  public List<Request> requests() {
    return requests;
  }

  /** Connections on which at least one proxied request arrived. */
  public int proxiedConnections() {
    return proxiedConnections.get();
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException e) {
      // closing anyway
    }
    for (Socket s : sockets) {
      try {
        s.close();
      } catch (IOException e) {
        // closing anyway
      }
    }
  }

  /** One connection, seen from the backend. */
  public final class Conn {
    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;
    private final int index;
    private int served;

    Conn(Socket socket, int index) {
      this.socket = socket;
      this.index = index;
      try {
        socket.setSoTimeout(30_000);
        this.in = socket.getInputStream();
        this.out = socket.getOutputStream();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }

    /** 1 for the first connection this backend accepted, and so on (health checks included). */
    public int index() {
      return index;
    }

    /** Proxied requests read on this connection so far. */
    public int served() {
      return served;
    }

    /**
     * The next proxied request with its whole body (Content-Length or chunked), or null when the
     * gateway closed the connection. Health checks on the way are answered 200.
     */
    public Request readRequest() throws IOException {
      while (true) {
        Request r = readHead();
        if (r == null) {
          return null;
        }
        int recorded = requests.lastIndexOf(r);
        byte[] body = readBody(r);
        Request whole = new Request(r.method(), r.target(), r.version(), r.headers(), body);
        if (recorded >= 0) {
          requests.set(recorded, whole); // the record gets its body too
        }
        r = whole;
        if ("keystone-health-check".equals(r.header("User-Agent"))) {
          write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
          continue;
        }
        return r;
      }
    }

    /** The next request head only (the body is left unread), or null at the end of the stream. */
    public Request readHead() throws IOException {
      String line = readLine();
      if (line == null) {
        return null;
      }
      String[] parts = line.split(" ", 3);
      List<String[]> headers = HttpLines.fields(in);
      Request r = new Request(parts[0], parts.length > 1 ? parts[1] : "", parts.length > 2 ? parts[2] : "", headers, new byte[0]);
      if (!"keystone-health-check".equals(r.header("User-Agent"))) {
        if (served++ == 0) {
          proxiedConnections.incrementAndGet();
        }
        requests.add(r);
      }
      return r;
    }

    /** Reads the body {@code head} announces. */
    public byte[] readBody(Request head) throws IOException {
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      String cl = head.header("Content-Length");
      String te = head.header("Transfer-Encoding");
      if (te != null && te.toLowerCase(Locale.ROOT).contains("chunked")) {
        while (true) {
          String size = readLine();
          int n = Integer.parseInt(size.split(";")[0].trim(), 16);
          if (n == 0) {
            while (!readLine().isEmpty()) {
              // trailers
            }
            break;
          }
          body.write(in.readNBytes(n));
          readLine();
        }
      } else if (cl != null) {
        body.write(in.readNBytes(Integer.parseInt(cl)));
      }
      return body.toByteArray();
    }

    /** Reads up to {@code n} body bytes (fewer at the end of the stream). */
    public byte[] readBytes(int n) throws IOException {
      return in.readNBytes(n);
    }

    /** Reads what has come, at least one byte and at most {@code n}; none at the end of the stream. */
    public byte[] readSome(int n) throws IOException {
      byte[] buf = new byte[n];
      int got = in.read(buf, 0, n);
      return got <= 0 ? new byte[0] : java.util.Arrays.copyOf(buf, got);
    }

    public void write(String text) throws IOException {
      out.write(text.getBytes(StandardCharsets.ISO_8859_1));
      out.flush();
    }

    public void write(byte[] bytes) throws IOException {
      out.write(bytes);
      out.flush();
    }

    /** A complete response with a Content-Length. */
    public void respond(int status, String body, String... headers) throws IOException {
      StringBuilder sb = new StringBuilder("HTTP/1.1 ").append(status).append(" X\r\n");
      for (int i = 0; i + 1 < headers.length; i += 2) {
        sb.append(headers[i]).append(": ").append(headers[i + 1]).append("\r\n");
      }
      sb.append("Content-Length: ").append(body.getBytes(StandardCharsets.ISO_8859_1).length).append("\r\n\r\n").append(body);
      write(sb.toString());
    }

    /**
     * Sends a FIN but keeps reading (and discarding) until the gateway closes: the lingering
     * close of a server that answered before it read the whole request, so the answer is not
     * lost to a reset.
     */
    public void shutdownOutputAndDrain() throws IOException {
      socket.shutdownOutput();
      byte[] sink = new byte[64 * 1024];
      try {
        while (in.read(sink) >= 0) {
          // discard
        }
      } catch (IOException e) {
        // a reset ends it too
      }
    }

    /** Closes with a FIN. */
    public void close() {
      try {
        socket.close();
      } catch (IOException e) {
        // closing anyway
      }
    }

    /** Closes with a RST (SO_LINGER 0), as a crashed process's kernel would. */
    public void reset() {
      try {
        socket.setSoLinger(true, 0);
        socket.close();
      } catch (IOException e) {
        // closing anyway
      }
    }

    private String readLine() throws IOException {
      return HttpLines.line(in);
    }
  }
}
