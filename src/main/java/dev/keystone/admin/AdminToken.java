package dev.keystone.admin;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Logger;

/**
 * The admin bearer token: {@code admin.token} from the running config (so a reload can rotate
 * it), else {@code KEYSTONE_ADMIN_TOKEN}, else a random token made at start and written to a file
 * only this user can read ({@link #defaultFile}), where {@code keystone status} looks for it.
 */
public final class AdminToken {

  public static final String ENV = "KEYSTONE_ADMIN_TOKEN";
  private static final Logger LOG = Logger.getLogger("keystone.admin");

  private final Supplier<String> configured;
  private final String fallback;
  private final boolean generated;
  private Path file;

  /**
   * @param configured the running config's token, or null (read on every request)
   * @param env        the environment
   */
  AdminToken(Supplier<String> configured, Function<String, String> env) {
    this.configured = configured;
    String fromEnv = env.apply(ENV);
    this.generated = fromEnv == null || fromEnv.isBlank();
    this.fallback = generated ? random() : fromEnv.trim();
  }

  /** Whether {@code header} (an Authorization value) carries the token; constant time. */
  boolean accepts(String header) {
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return false;
    }
    String expected = current();
    // Comparing digests keeps the time independent of where the strings differ and of their lengths.
    return MessageDigest.isEqual(sha256(header.substring(7).trim()), sha256(expected));
  }

  private String current() {
    String c = configured.get();
    return c != null ? c : fallback;
  }

  /**
   * With a generated token, writes it to the default file for {@code port} and returns the file;
   * returns null when the token comes from the config or the environment.
   */
  Path publish(int port) {
    if (!generated || configured.get() != null) {
      return null;
    }
    Path f = defaultFile(port);
    try {
      Files.createDirectories(f.getParent(), PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      Files.deleteIfExists(f);
      Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.writeString(f, fallback + "\n", StandardCharsets.UTF_8);
      file = f;
      return f;
    } catch (IOException | UnsupportedOperationException e) {
      // Without the file nobody could use the admin API: say the token once, in the log.
      LOG.warning("cannot write the admin token to " + f + " (" + e + "); admin token: " + fallback);
      return null;
    }
  }

  /** Removes the file {@link #publish} wrote. */
  void unpublish() {
    if (file != null) {
      try {
        Files.deleteIfExists(file);
      } catch (IOException e) {
        LOG.fine("cannot remove " + file + ": " + e);
      }
    }
  }

  /**
   * Where a generated token for the admin port {@code port} is kept:
   * {@code $XDG_RUNTIME_DIR/keystone/} (a per-user tmpfs) or {@code ~/.keystone/}.
   */
  public static Path defaultFile(int port) {
    String override = System.getProperty("keystone.admin.token-dir"); // tests: not the user's home
    if (override != null) {
      return Path.of(override).resolve("admin-" + port + ".token");
    }
    String runtime = System.getenv("XDG_RUNTIME_DIR");
    Path dir = runtime != null && !runtime.isBlank()
        ? Path.of(runtime, "keystone") : Path.of(System.getProperty("user.home"), ".keystone");
    return dir.resolve("admin-" + port + ".token");
  }

  private static String random() {
    byte[] b = new byte[24];
    new SecureRandom().nextBytes(b);
    return HexFormat.of().formatHex(b);
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
