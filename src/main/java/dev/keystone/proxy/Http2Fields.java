package dev.keystone.proxy;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.util.AsciiString;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * An answer's header fields as HTTP/2 sends them (RFC 9113 section 8.2): names in lower case, the
 * connection-specific fields left out (Connection, Keep-Alive, Proxy-Connection,
 * Transfer-Encoding, Upgrade, a TE other than {@code trailers}, and whatever a Connection header
 * names). The names an answer usually carries come from a table of constants, found by their
 * case-insensitive hash: no copy and no lower-casing per answer (Netty's conversion made a new
 * name for every field, and asked Vert.x's map for its size, which sorts its names into a tree).
 */
final class Http2Fields {

  private static final int SLOTS = 128;
  private static final AsciiString[] NAMES = new AsciiString[SLOTS];
  /** Connection-specific: not sent. */
  private static final boolean[] DROPPED = new boolean[SLOTS];
  private static final AsciiString CONNECTION = AsciiString.cached("connection");
  private static final AsciiString TE = AsciiString.cached("te");

  static {
    DROPPED[add(CONNECTION)] = true;
    for (String n : new String[] {"keep-alive", "proxy-connection", "transfer-encoding", "upgrade"}) {
      DROPPED[add(AsciiString.cached(n))] = true;
    }
    add(TE);
    for (String n : new String[] {"accept-ranges", "access-control-allow-origin", "age", "cache-control",
        "content-disposition", "content-encoding", "content-language", "content-length", "content-location",
        "content-range", "content-security-policy", "content-type", "date", "etag", "expires", "last-modified",
        "link", "location", "referrer-policy", "retry-after", "server", "set-cookie", "strict-transport-security",
        "trailer", "vary", "via", "www-authenticate", "x-content-type-options", "x-frame-options", "x-request-id",
        "x-powered-by", "alt-svc"}) {
      add(AsciiString.cached(n));
    }
  }

  private Http2Fields() {
  }

  private static int add(AsciiString name) {
    int i = slot(name);
    while (NAMES[i] != null) {
      i = (i + 1) & (SLOTS - 1);
    }
    NAMES[i] = name;
    return i;
  }

  private static int slot(CharSequence name) {
    return AsciiString.hashCode(name) & (SLOTS - 1); // (case-insensitive)
  }

  /** The slot of {@code name}'s constant, or -1 if it has none. */
  private static int find(CharSequence name) {
    for (int i = slot(name); NAMES[i] != null; i = (i + 1) & (SLOTS - 1)) {
      if (NAMES[i].contentEqualsIgnoreCase(name)) {
        return i;
      }
    }
    return -1;
  }

  /** {@code name} in lower case: its constant, or a lower-cased copy. */
  static AsciiString lowerCase(CharSequence name) {
    int i = find(name);
    return i >= 0 ? NAMES[i] : AsciiString.of(name).toLowerCase();
  }

  /** The fields of {@code headers}, with {@code :status} first when given (null for trailers). */
  static Http2Headers of(HttpHeaders headers, CharSequence status) {
    DefaultHttp2Headers out = new DefaultHttp2Headers(false);
    if (status != null) {
      out.status(status);
    }
    List<AsciiString> named = null;
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence(); it.hasNext(); ) {
      Map.Entry<CharSequence, CharSequence> e = it.next();
      CharSequence n = e.getKey();
      int i = find(n);
      AsciiString name = i >= 0 ? NAMES[i] : AsciiString.of(n).toLowerCase();
      if (i >= 0 && DROPPED[i]) {
        if (name == CONNECTION) {
          named = tokens(e.getValue(), named);
        }
      } else if (name != TE || AsciiString.contentEqualsIgnoreCase(e.getValue(), "trailers")) {
        out.add(name, e.getValue());
      }
    }
    if (named != null) {
      for (AsciiString n : named) {
        out.remove(n);
      }
    }
    return out;
  }

  /** The names a Connection header lists, lower-cased, added to {@code into}. */
  private static List<AsciiString> tokens(CharSequence value, List<AsciiString> into) {
    List<AsciiString> list = into == null ? new ArrayList<>(2) : into;
    for (String t : value.toString().split(",")) {
      String name = t.trim();
      if (!name.isEmpty()) {
        list.add(lowerCase(name));
      }
    }
    return list;
  }
}
