package dev.keystone.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;

/** A config file's bytes and text: read whole with a bound, decoded as strict UTF-8. */
final class ConfigText {

  private ConfigText() {
  }

  /** The file's bytes, or a ConfigException naming it. */
  static byte[] read(Path file) throws ConfigException {
    if (java.nio.file.Files.exists(file) && !java.nio.file.Files.isRegularFile(file)) {
      // a fifo blocks the start (and every reload) until someone writes to it; /dev/zero never
      // ends (attack s12-F2, F3)
      throw new ConfigException(List.of(new ConfigError(file.toString(), 0, "",
          "not a regular file (a pipe or a device cannot be read as a config, nor reloaded)")));
    }
    try {
      return readAll(file, maxFile());
    } catch (IOException e) {
      throw new ConfigException(List.of(new ConfigError(file.toString(), 0, "", "cannot read file: " + e)));
    }
  }

  /**
   * A config file larger than this is refused unread: its parse takes about twenty times its
   * size in heap, so a sixteenth of the heap (16 MiB, some 100,000 tenants, with the shipped
   * 256 MiB) is already more than it can hold. A larger file read whole ended the gateway with an
   * OutOfMemoryError, on a reload too.
   */
  static long maxFile() {
    return Runtime.getRuntime().maxMemory() / 16;
  }

  /**
   * The bytes of {@code file}, at most {@code max}. Read in 64 KiB steps with a plain stream:
   * Files.readAllBytes copies through a zeroed direct buffer of the file's size, which it then
   * keeps for the thread (a tenth of a 10,000-tenant start went to that).
   */
  static byte[] readAll(Path file, long max) throws IOException, ConfigException {
    try (java.io.FileInputStream in = new java.io.FileInputStream(file.toFile())) {
      long size = in.getChannel().size();
      if (size > max) {
        throw new ConfigException(List.of(new ConfigError(file.toString(), 0, "",
            "the file has " + size + " bytes, above the limit of " + max + " (a sixteenth of the heap: -Xmx)")));
      }
      byte[] out = new byte[(int) size];
      int n = 0;
      while (n < out.length) {
        int r = in.read(out, n, Math.min(64 * 1024, out.length - n));
        if (r < 0) {
          return java.util.Arrays.copyOf(out, n); // shrank while read
        }
        n += r;
      }
      // grew while read (or a file whose size is not known, such as a pipe): the rest too
      byte[] rest = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, max - n + 1));
      if (rest.length == 0) {
        return out;
      }
      if (n + (long) rest.length > max) {
        throw new ConfigException(List.of(new ConfigError(file.toString(), 0, "", "the file is above the limit of " + max + " bytes")));
      }
      byte[] all = java.util.Arrays.copyOf(out, n + rest.length);
      System.arraycopy(rest, 0, all, n, rest.length);
      return all;
    }
  }

  /**
   * The file's text. Bytes that are not UTF-8 are an error naming their line, at start and on
   * reload alike (a reload used to read them as U+FFFD and serve a config nobody wrote).
   */
  static String decode(byte[] content, Path file) throws ConfigException {
    java.nio.ByteBuffer in = java.nio.ByteBuffer.wrap(content);
    java.nio.CharBuffer out = java.nio.CharBuffer.allocate(content.length);
    java.nio.charset.CoderResult r = StandardCharsets.UTF_8.newDecoder().decode(in, out, true);
    if (r.isError()) {
      int line = 1;
      for (int i = 0; i < in.position(); i++) {
        line += content[i] == '\n' ? 1 : 0;
      }
      throw new ConfigException(List.of(new ConfigError(file.toString(), line, "",
          "not UTF-8 text: byte 0x" + Integer.toHexString(content[in.position()] & 0xff) + " at offset " + in.position())));
    }
    return out.flip().toString();
  }

}
