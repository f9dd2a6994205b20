package dev.keystone.script;

import java.nio.charset.StandardCharsets;

/**
 * FNV-1a (32 bit) of a string's UTF-8 bytes, as a non-negative number below 2^31: scripts'
 * {@code hash()} and a rollout's pinned buckets, so a user lands in the same bucket either way,
 * on every instance and every version.
 */
public final class Fnv1a {

  private Fnv1a() {
  }

  public static long of(String s) {
    int h = 0x811c9dc5;
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      h ^= b & 0xff;
      h *= 0x01000193;
    }
    return h & 0x7fffffffL;
  }
}
