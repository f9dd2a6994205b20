package dev.keystone.testing;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersDecoder;
import io.netty.handler.codec.http2.DefaultHttp2HeadersEncoder;
import io.netty.handler.codec.http2.Http2Headers;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

/**
 * A hand-made HTTP/2 client for hostile tests: it writes frames exactly as told (a library
 * client would refuse to send a flood, a CR in a header value or a CONTINUATION run without end)
 * and reads the server's frames one by one.
 */
public final class H2Wire implements AutoCloseable {

  public static final int DATA = 0;
  public static final int HEADERS = 1;
  public static final int RST_STREAM = 3;
  public static final int SETTINGS = 4;
  public static final int PING = 6;
  public static final int GOAWAY = 7;
  public static final int WINDOW_UPDATE = 8;
  public static final int CONTINUATION = 9;
  public static final int END_STREAM = 0x1;
  public static final int END_HEADERS = 0x4;

  /** One frame as read. */
  public record Frame(int type, int flags, int stream, byte[] payload) {
    public boolean has(int flag) {
      return (flags & flag) != 0;
    }

    /** The error code of a RST_STREAM or GOAWAY. */
    public long errorCode() {
      int at = type == GOAWAY ? 4 : 0;
      return ((payload[at] & 0xffL) << 24) | ((payload[at + 1] & 0xff) << 16) | ((payload[at + 2] & 0xff) << 8)
          | (payload[at + 3] & 0xff);
    }
  }

  private final SSLSocket socket;
  private final OutputStream out;
  private final DataInputStream in;
  private final DefaultHttp2HeadersEncoder encoder = new DefaultHttp2HeadersEncoder();
  private final DefaultHttp2HeadersDecoder decoder = new DefaultHttp2HeadersDecoder(false);

  /** Connects to {@code port} on loopback asking for {@code sni}, with ALPN h2, and sends the preface. */
  public H2Wire(SSLContext ctx, int port, String sni) throws IOException {
    socket = (SSLSocket) ctx.getSocketFactory().createSocket("127.0.0.1", port);
    SSLParameters p = socket.getSSLParameters();
    p.setServerNames(List.of(new SNIHostName(sni)));
    p.setApplicationProtocols(new String[] {"h2"});
    socket.setSSLParameters(p);
    socket.setSoTimeout(10_000);
    socket.startHandshake();
    if (!"h2".equals(socket.getApplicationProtocol())) {
      throw new IOException("the server did not choose h2 but '" + socket.getApplicationProtocol() + "'");
    }
    out = socket.getOutputStream();
    in = new DataInputStream(socket.getInputStream());
    out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
    frame(SETTINGS, 0, 0, new byte[0]);
  }

  /** A request's header block: the pseudo-headers, then {@code extra} as name/value pairs. */
  public static Http2Headers request(String method, String path, String authority, String... extra) {
    Http2Headers h = new DefaultHttp2Headers(false);
    h.method(method).path(path).scheme("https");
    if (authority != null) {
      h.authority(authority);
    }
    for (int i = 0; i < extra.length; i += 2) {
      h.add(extra[i], extra[i + 1]);
    }
    return h;
  }

  /** The HPACK encoding of {@code h} (the encoder's table changes: encode in the order sent). */
  public byte[] encode(Http2Headers h) {
    ByteBuf b = Unpooled.buffer();
    try {
      encoder.encodeHeaders(0, h, b);
      byte[] bytes = new byte[b.readableBytes()];
      b.readBytes(bytes);
      return bytes;
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      b.release();
    }
  }

  public H2Wire headers(int stream, Http2Headers h, boolean endStream) throws IOException {
    return frame(HEADERS, END_HEADERS | (endStream ? END_STREAM : 0), stream, encode(h));
  }

  public H2Wire data(int stream, byte[] bytes, boolean endStream) throws IOException {
    return frame(DATA, endStream ? END_STREAM : 0, stream, bytes);
  }

  public H2Wire rst(int stream, int code) throws IOException {
    return frame(RST_STREAM, 0, stream, new byte[] {(byte) (code >>> 24), (byte) (code >>> 16), (byte) (code >>> 8), (byte) code});
  }

  public synchronized H2Wire frame(int type, int flags, int stream, byte[] payload) throws IOException {
    byte[] head = {(byte) (payload.length >>> 16), (byte) (payload.length >>> 8), (byte) payload.length, (byte) type,
        (byte) flags, (byte) (stream >>> 24), (byte) (stream >>> 16), (byte) (stream >>> 8), (byte) stream};
    out.write(head);
    out.write(payload);
    out.flush();
    return this;
  }

  /** The next frame, or null when the server closed the connection. */
  public Frame read() throws IOException {
    byte[] head = new byte[9];
    try {
      in.readFully(head);
    } catch (EOFException | javax.net.ssl.SSLException | java.net.SocketException closed) {
      return null;
    }
    int length = ((head[0] & 0xff) << 16) | ((head[1] & 0xff) << 8) | (head[2] & 0xff);
    byte[] payload = new byte[length];
    in.readFully(payload);
    Frame f = new Frame(head[3] & 0xff, head[4] & 0xff, ((head[5] & 0x7f) << 24) | ((head[6] & 0xff) << 16)
        | ((head[7] & 0xff) << 8) | (head[8] & 0xff), payload);
    if (f.type == SETTINGS && !f.has(1)) {
      try {
        frame(SETTINGS, 1, 0, new byte[0]); // acknowledged, as a client must
      } catch (IOException closedMeanwhile) {
        // the server is closing: what it sent is still read
      }
    }
    return f;
  }

  /** The next frame on {@code stream} (or a GOAWAY, or null at the close), skipping the others. */
  public Frame next(int stream) throws IOException {
    Frame f;
    while ((f = read()) != null && f.stream != stream && f.type != GOAWAY) {
      // another stream's or the connection's frame
    }
    return f;
  }

  /** The decoded header block of a HEADERS frame (without padding or priority: the gateway sends neither). */
  public Http2Headers decode(Frame f) {
    ByteBuf b = Unpooled.wrappedBuffer(f.payload);
    try {
      return decoder.decodeHeaders(f.stream, b);
    } catch (Exception e) {
      throw new AssertionError(e);
    } finally {
      b.release();
    }
  }

  /**
   * How each field of a HEADERS frame's block is represented (RFC 7541 section 6), in order:
   * 'I' indexed, 'A' a literal added to the table, 'W' a literal without indexing, 'N' a literal
   * never indexed. (Table size updates are skipped; the gateway sends no padding or priority.)
   */
  public static String representations(Frame f) {
    byte[] b = f.payload;
    StringBuilder kinds = new StringBuilder();
    int[] at = {0};
    while (at[0] < b.length) {
      int first = b[at[0]] & 0xff;
      if ((first & 0x80) != 0) {
        integer(b, at, 7);
        kinds.append('I');
      } else if ((first & 0xe0) == 0x20) {
        integer(b, at, 5); // a dynamic table size update
      } else {
        int prefix = (first & 0x40) != 0 ? 6 : 4;
        kinds.append((first & 0x40) != 0 ? 'A' : (first & 0x10) != 0 ? 'N' : 'W');
        if (integer(b, at, prefix) == 0) {
          skipString(b, at); // a literal name
        }
        skipString(b, at);
      }
    }
    return kinds.toString();
  }

  private static long integer(byte[] b, int[] at, int prefixBits) {
    int max = (1 << prefixBits) - 1;
    long v = b[at[0]++] & max;
    if (v < max) {
      return v;
    }
    int shift = 0;
    int next;
    do {
      next = b[at[0]++] & 0xff;
      v += (long) (next & 0x7f) << shift;
      shift += 7;
    } while ((next & 0x80) != 0);
    return v;
  }

  private static void skipString(byte[] b, int[] at) {
    int length = (int) integer(b, at, 7); // (the Huffman flag is the prefix's top bit)
    at[0] += length;
  }

  /** The status of {@code stream}'s answer: its first HEADERS frame's, or -1 for a reset, -2 for a GOAWAY or close. */
  public int status(int stream) throws IOException {
    Frame f = next(stream);
    if (f == null || f.type == GOAWAY) {
      return -2;
    }
    if (f.type == RST_STREAM) {
      return -1;
    }
    if (f.type != HEADERS) {
      throw new AssertionError("frame type " + f.type + " before the answer's head on stream " + stream);
    }
    return Integer.parseInt(decode(f).status().toString());
  }

  /** Reads until the connection closes; returns the GOAWAY seen, or null. */
  public Frame untilClosed() throws IOException {
    Frame goaway = null;
    Frame f;
    try {
      while ((f = read()) != null) {
        if (f.type == GOAWAY) {
          goaway = f;
        }
      }
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the server kept the connection open", e);
    }
    return goaway;
  }

  @Override
  public void close() throws IOException {
    socket.close();
  }
}
