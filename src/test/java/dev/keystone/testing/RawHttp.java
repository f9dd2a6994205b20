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
    try {
      socket = new Socket(host, port);
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
