package dev.keystone.catalog;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.SortedMap;

/**
 * An entry's SHA-256: the SHA-256 of the lines {@code "<sha256 of file>  <file>\n"}, one per
 * file of the entry, sorted by file name: exactly what {@code sha256sum} prints for the files,
 * so that {@code sha256sum entry.json script.lua tests.json | sha256sum} (names in sorted order)
 * checks it without Keystone. Any changed, added or removed byte of any file changes it.
 */
public final class Digest {

  private Digest() {
  }

  public static String of(SortedMap<String, byte[]> files) {
    StringBuilder listing = new StringBuilder();
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      listing.append(sha256(f.getValue())).append("  ").append(f.getKey()).append('\n');
    }
    return sha256(listing.toString().getBytes(StandardCharsets.UTF_8));
  }

  public static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java has SHA-256", e);
    }
  }

  /** A well-formed SHA-256 in hex (64 lower-case hex digits). */
  static boolean wellFormed(String s) {
    return s != null && s.matches("[0-9a-f]{64}");
  }
}
