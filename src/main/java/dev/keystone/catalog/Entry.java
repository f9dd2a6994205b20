package dev.keystone.catalog;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.SortedMap;

/**
 * An entry whose content was checked: every file its manifest names, read, hashed and found
 * equal to the SHA-256 it was fetched or installed under (and signed when {@code signed}).
 */
public record Entry(Manifest manifest, SortedMap<String, byte[]> files, String sha256, boolean signed) {

  public static final int MAX_FILE = 1 << 20;
  public static final int MAX_FILES_TOTAL = 4 << 20;

  public Entry {
    files = Collections.unmodifiableSortedMap(files);
  }

  public String id() {
    return manifest.id();
  }

  /** The script's source in {@code language}, or null when the entry is not offered in it. */
  public String script(String language) {
    String file = manifest.scripts().get(language);
    return file == null ? null : new String(files.get(file), StandardCharsets.UTF_8);
  }

  /** Reads the files {@code manifest} names (entry.json already read as {@code manifestBytes}) and hashes them. */
  static Entry read(Manifest manifest, byte[] manifestBytes, FileReader reader, String expectedSha, boolean signed)
      throws CatalogException {
    SortedMap<String, byte[]> files = new java.util.TreeMap<>();
    long total = manifestBytes.length;
    files.put(Manifest.FILE, manifestBytes);
    for (String f : manifest.files()) {
      if (f.equals(Manifest.FILE)) {
        continue;
      }
      byte[] b = reader.read(f, MAX_FILE);
      total += b.length;
      if (total > MAX_FILES_TOTAL) {
        throw new CatalogException(manifest.id() + ": its files are larger than " + MAX_FILES_TOTAL + " bytes together");
      }
      files.put(f, b);
    }
    for (var f : files.entrySet()) {
      String problem = textProblem(f.getValue());
      if (problem != null) {
        throw new CatalogException(manifest.id() + ": " + f.getKey() + ": " + problem);
      }
    }
    String sha = Digest.of(files);
    if (expectedSha != null && !sha.equals(expectedSha)) {
      throw new CatalogException(manifest.id() + ": content does not match its SHA-256 (expected " + expectedSha
          + ", the files hash to " + sha + "): the entry was changed after it was published or installed");
    }
    return new Entry(manifest, files, sha, signed);
  }

  /**
   * Why {@code bytes} is not the plain text an entry's files must be, or null: UTF-8, lines ending
   * in LF, no control characters but tab. A lone CR is a line break to Lua and JavaScript that a
   * terminal shows as nothing: with it (or an escape sequence) an added line of code can look
   * absent in a review or in {@code update}'s diff.
   */
  static String textProblem(byte[] bytes) {
    String text;
    try {
      text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(java.nio.charset.CodingErrorAction.REPORT)
          .onUnmappableCharacter(java.nio.charset.CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (java.nio.charset.CharacterCodingException e) {
      return "not UTF-8 text";
    }
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if ((c < 0x20 && c != '\t' && c != '\n') || (c >= 0x7f && c <= 0x9f) || (c >= 0x202a && c <= 0x202e)
          || (c >= 0x2066 && c <= 0x2069)) {
        return String.format("a control character (U+%04X) at offset %d: an entry's files are text, lines ending in LF", (int) c, i);
      }
    }
    return null;
  }

  /** Reads one file of the entry, at most {@code max} bytes. */
  interface FileReader {
    byte[] read(String file, int max) throws CatalogException;
  }
}
