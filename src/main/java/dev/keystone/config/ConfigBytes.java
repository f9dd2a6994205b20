package dev.keystone.config;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The primitives of {@link ConfigCodec}: zig-zag varints and length-prefixed UTF-8, on plain
 * arrays. A start-up reads them before the JIT has compiled anything, so they are a few lines of
 * arithmetic rather than a stream stack. A reader checks every length against what is left, so a
 * damaged file fails with an exception (and the cache is ignored) instead of a huge allocation.
 */
final class ConfigBytes {

  private ConfigBytes() {
  }

  static final class Writer {
    private byte[] buf = new byte[4096];
    private int n;

    void varint(int v) {
      varlong(v);
    }

    void varlong(long v) {
      long z = (v << 1) ^ (v >> 63);
      ensure(10);
      while ((z & ~0x7FL) != 0) {
        buf[n++] = (byte) ((z & 0x7F) | 0x80);
        z >>>= 7;
      }
      buf[n++] = (byte) z;
    }

    void utf8(String s) {
      bytes(s.getBytes(StandardCharsets.UTF_8));
    }

    void bytes(byte[] b) {
      varint(b.length);
      ensure(b.length);
      System.arraycopy(b, 0, buf, n, b.length);
      n += b.length;
    }

    private void ensure(int more) {
      if (buf.length - n < more) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, n + more));
      }
    }

    byte[] toArray() {
      return Arrays.copyOf(buf, n);
    }
  }

  static final class Reader {
    private final byte[] buf;
    private final int end;
    private int at;

    Reader(byte[] buf) {
      this(buf, 0, buf.length);
    }

    /** Reads {@code buf[from..to)}. */
    Reader(byte[] buf, int from, int to) {
      this.buf = buf;
      this.at = from;
      this.end = to;
    }

    long varlong() {
      long z = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (at >= end) {
          throw new IllegalArgumentException("truncated");
        }
        byte b = buf[at++];
        z |= (long) (b & 0x7F) << shift;
        if (b >= 0) {
          return (z >>> 1) ^ -(z & 1);
        }
      }
      throw new IllegalArgumentException("varint too long");
    }

    int varint() {
      long v = varlong();
      if (v != (int) v) {
        throw new IllegalArgumentException("not an int: " + v);
      }
      return (int) v;
    }

    /** A count or length: at least 0 and at most the bytes left (every item takes one at least). */
    int count() {
      int c = varint();
      if (c < 0 || c > remaining()) {
        throw new IllegalArgumentException("count " + c + " with " + remaining() + " bytes left");
      }
      return c;
    }

    String utf8() {
      int len = count();
      String s = new String(buf, at, len, StandardCharsets.UTF_8);
      at += len;
      return s;
    }

    /** Reads a length-prefixed byte string and says whether it equals {@code expected}. */
    boolean bytesEqual(byte[] expected) {
      int len = count();
      boolean same = Arrays.equals(buf, at, at + len, expected, 0, expected.length);
      at += len;
      return same;
    }

    int remaining() {
      return end - at;
    }
  }
}
