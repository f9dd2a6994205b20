package dev.keystone.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Reading HTTP/1 lines and header fields byte by byte, as the raw test client and backend do. */
final class HttpLines {

  private HttpLines() {
  }

  /** One line without its CRLF (or bare LF), or null at the end of the stream. */
  static String line(InputStream in) throws IOException {
    ByteArrayOutputStream line = new ByteArrayOutputStream();
    int b;
    while ((b = in.read()) >= 0) {
      if (b == '\n') {
        byte[] bytes = line.toByteArray();
        int n = bytes.length > 0 && bytes[bytes.length - 1] == '\r' ? bytes.length - 1 : bytes.length;
        return new String(bytes, 0, n, StandardCharsets.ISO_8859_1);
      }
      line.write(b);
    }
    return line.size() == 0 ? null : line.toString(StandardCharsets.ISO_8859_1);
  }

  /**
   * Header fields up to the empty line, as name and value; a line that is not a field (an
   * obs-fold, garbage) is kept whole, with a null value, for the test to see.
   */
  static List<String[]> fields(InputStream in) throws IOException {
    List<String[]> out = new ArrayList<>();
    String h;
    while ((h = line(in)) != null && !h.isEmpty()) {
      int colon = h.indexOf(':');
      out.add(colon < 0 ? new String[] {h, null} : new String[] {h.substring(0, colon), h.substring(colon + 1).trim()});
    }
    return out;
  }
}
