package dev.keystone.proxy;

import java.util.concurrent.ThreadLocalRandom;

/**
 * Gives each request an id: the client's (or an upstream proxy's) {@code X-Request-ID} when it is
 * sane, a new random one otherwise. It is sent to the backend, returned to the client, written in
 * the access log and in every error body, so one id ties the whole story together.
 */
final class RequestIds implements Interceptor {

  private static final char[] HEX = "0123456789abcdef".toCharArray();

  @Override
  public void handle(Exchange ex) {
    String incoming = ex.head().headers().get("X-Request-ID");
    ex.requestId = isSane(incoming) && !namedInConnection(ex) ? incoming : generate();
    ex.next();
  }

  /** Whether the client named X-Request-ID in Connection: hop-by-hop then, not its id (attack D1-5). */
  private static boolean namedInConnection(Exchange ex) {
    java.util.List<String> named = null;
    for (String c : ex.head().headers().getAll("Connection")) {
      named = HopByHop.connectionTokens(c, named);
    }
    if (named != null) {
      for (String n : named) {
        if (n.equalsIgnoreCase("X-Request-ID")) {
          return true;
        }
      }
    }
    return false;
  }

  /** Accepts ids up to 128 characters of letters, digits and {@code - _ . : / + =}. */
  static boolean isSane(String id) {
    if (id == null || id.isEmpty() || id.length() > 128) {
      return false;
    }
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
          || c == '-' || c == '_' || c == '.' || c == ':' || c == '/' || c == '+' || c == '=';
      if (!ok) {
        return false;
      }
    }
    return true;
  }

  /** 32 random hex digits; ThreadLocalRandom, since ids need to be unique, not secret. */
  static String generate() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    // bytes, not chars: a Latin-1 String copies them as they are (a char[] was made, then compressed)
    byte[] out = new byte[32];
    long a = r.nextLong();
    long b = r.nextLong();
    for (int i = 0; i < 16; i++) {
      out[i] = (byte) HEX[(int) (a >>> (60 - 4 * i)) & 0xf];
      out[16 + i] = (byte) HEX[(int) (b >>> (60 - 4 * i)) & 0xf];
    }
    return new String(out, java.nio.charset.StandardCharsets.ISO_8859_1);
  }
}
