package dev.keystone.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Writes bytes to a socket exactly as given and reads what comes back, for malformed requests. */
public final class RawHttp implements AutoCloseable {

  private final Socket socket;

  public RawHttp(String host, int port) {
    this(host, port, 0);
  }

  /** With a receive buffer of {@code receiveBuffer} bytes (0: the system's), for clients that read slowly. */
  public RawHttp(String host, int port, int receiveBuffer) {
    try {
      socket = new Socket();
      if (receiveBuffer > 0) {
        socket.setReceiveBufferSize(receiveBuffer);
      }
      socket.connect(new java.net.InetSocketAddress(host, port));
      socket.setSoTimeout(15_000);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public RawHttp write(String text) {
    try {
      socket.getOutputStream().write(text.getBytes(StandardCharsets.ISO_8859_1));
      socket.getOutputStream().flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Reads until the server closes the connection (or 15 s pass), returning everything read. */
  public String readUntilClose() {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      InputStream in = socket.getInputStream();
      byte[] buf = new byte[8192];
      int n;
      while ((n = in.read(buf)) >= 0) {
        out.write(buf, 0, n);
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the server did not close the connection; read so far: " + out, e);
    } catch (IOException e) {
      // a reset counts as closed
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** Reads at least until {@code marker} has been seen. */
  public String readUntil(String marker) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      InputStream in = socket.getInputStream();
      while (!out.toString(StandardCharsets.ISO_8859_1).contains(marker)) {
        int b = in.read();
        if (b < 0) {
          break;
        }
        out.write(b);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("read so far: " + out, e);
    }
    return out.toString(StandardCharsets.ISO_8859_1);
  }

  /** One response read off the connection: status, headers, body, trailers (chunked only). */
  public record Response(int status, java.util.List<String[]> headers, String body, java.util.List<String[]> trailers) {

    public String header(String name) {
      for (String[] h : headers) {
        if (h[0].equalsIgnoreCase(name)) {
          return h[1];
        }
      }
      return null;
    }

    public java.util.List<String> all(String name) {
      java.util.List<String> out = new java.util.ArrayList<>();
      for (String[] h : headers) {
        if (h[0].equalsIgnoreCase(name)) {
          out.add(h[1]);
        }
      }
      return out;
    }

    public String trailer(String name) {
      for (String[] h : trailers) {
        if (h[0].equalsIgnoreCase(name)) {
          return h[1];
        }
      }
      return null;
    }
  }

  /**
   * Reads exactly one response, framed as RFC 9112 says: no body for HEAD ({@code headRequest}),
   * 1xx, 204 and 304; else chunked, Content-Length, or everything until the server closes.
   * Interim 1xx responses are returned like any other (call again for the final one).
   */
  public Response readResponse(boolean headRequest) {
    try {
      InputStream in = socket.getInputStream();
      String statusLine = HttpLines.line(in);
      if (statusLine == null) {
        throw new AssertionError("the connection closed before a response");
      }
      int status = status(statusLine);
      java.util.List<String[]> headers = HttpLines.fields(in);
      java.util.List<String[]> trailers = new java.util.ArrayList<>();
      Response head = new Response(status, headers, "", trailers);
      ByteArrayOutputStream body = new ByteArrayOutputStream();
      String te = head.header("Transfer-Encoding");
      String cl = head.header("Content-Length");
      if (headRequest || status < 200 || status == 204 || status == 304) {
        // no body
      } else if (te != null && te.toLowerCase(java.util.Locale.ROOT).contains("chunked")) {
        while (true) {
          String size = HttpLines.line(in);
          if (size == null) {
            throw new AssertionError("chunked body cut off after " + body.size() + " bytes");
          }
          int n = Integer.parseInt(size.split(";")[0].trim(), 16);
          if (n == 0) {
            trailers.addAll(HttpLines.fields(in));
            break;
          }
          byte[] chunk = in.readNBytes(n);
          body.write(chunk);
          if (chunk.length < n) {
            throw new AssertionError("chunk cut off after " + body.size() + " bytes");
          }
          HttpLines.line(in);
        }
      } else if (cl != null) {
        int n = Integer.parseInt(cl.trim());
        byte[] b = in.readNBytes(n);
        if (b.length < n) {
          throw new AssertionError("body cut off: " + b.length + " of " + n + " bytes");
        }
        body.write(b);
      } else {
        body.write(in.readAllBytes());
      }
      return new Response(status, headers, body.toString(StandardCharsets.ISO_8859_1), trailers);
    } catch (SocketTimeoutException e) {
      throw new AssertionError("no complete response within the socket timeout", e);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** True when the server has closed the connection (reads end of stream, or a reset). */
  public boolean closedByServer() {
    try {
      return socket.getInputStream().read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (IOException e) {
      return true;
    }
  }

  /** Sets how long reads wait (the default is 15 s). */
  public RawHttp timeout(int millis) {
    try {
      socket.setSoTimeout(millis);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Writes raw bytes. */
  public RawHttp write(byte[] bytes) {
    try {
      socket.getOutputStream().write(bytes);
      socket.getOutputStream().flush();
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Closes at once with a reset, as a client that crashed. */
  public void reset() {
    try {
      socket.setSoLinger(true, 0);
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }

  /** Status code of a response text such as "HTTP/1.1 400 Bad Request...". */
  public static int status(String response) {
    if (!response.startsWith("HTTP/1.")) {
      throw new AssertionError("not an HTTP response: '" + response + "'");
    }
    return Integer.parseInt(response.substring(9, 12));
  }

  @Override
  public void close() {
    try {
      socket.close();
    } catch (IOException e) {
      // closing anyway
    }
  }
}
