package dev.keystone.catalog;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Comparator;
import java.util.stream.Stream;

/** Catalog directories for tests: copies of the repository's entries, changed as a test needs. */
public final class CatalogFixture {

  /** The repository's catalog (the tests run from the project directory). */
  public static final Path REPOSITORY = Path.of("catalog").toAbsolutePath();

  private CatalogFixture() {
  }

  /** A catalog in {@code dir} with copies of the repository's {@code entries} (NAME/VERSION), indexed (unsigned). */
  public static Path copy(Path dir, String... entries) {
    try {
      for (String e : entries) {
        Path from = REPOSITORY.resolve(e);
        Path to = dir.resolve(e);
        Files.createDirectories(to);
        try (Stream<Path> s = Files.list(from)) {
          for (Path f : s.toList()) {
            Files.copy(f, to.resolve(f.getFileName()));
          }
        }
      }
      index(dir, null);
      return dir;
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
  }

  /** Writes {@code dir}/index.json, signed with {@code key} when given. */
  public static void index(Path dir, java.security.PrivateKey key) {
    try {
      Files.write(dir.resolve(CatalogIndex.FILE), IndexBuilder.build(dir, key).toBytes());
    } catch (CatalogException | IOException x) {
      throw new AssertionError(x);
    }
  }

  /** A copy of entry NAME/FROM as NAME/TO with {@code edit} applied to its Lua script. */
  public static void newVersion(Path dir, String name, String from, String to, java.util.function.UnaryOperator<String> edit) {
    try {
      Path src = dir.resolve(name).resolve(from);
      Path dst = dir.resolve(name).resolve(to);
      Files.createDirectories(dst);
      try (Stream<Path> s = Files.list(src)) {
        for (Path f : s.toList()) {
          String text = Files.readString(f);
          if (f.getFileName().toString().equals(Manifest.FILE)) {
            text = text.replace("\"version\": \"" + from + "\"", "\"version\": \"" + to + "\"");
          } else if (f.getFileName().toString().endsWith(".lua")) {
            text = edit.apply(text);
          }
          Files.writeString(dst.resolve(f.getFileName()), text);
        }
      }
      index(dir, null);
    } catch (IOException x) {
      throw new UncheckedIOException(x);
    }
  }

  public static KeyPair ed25519() {
    try {
      return KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  public static String pem(java.security.Key key, String type) {
    return "-----BEGIN " + type + "-----\n" + Base64.getMimeEncoder(64, "\n".getBytes()).encodeToString(key.getEncoded())
        + "\n-----END " + type + "-----\n";
  }

  public static void delete(Path dir) {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    } catch (IOException ignored) {
      // a temporary directory
    }
  }
}
