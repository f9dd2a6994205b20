package dev.keystone.config;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;

/** Files only this user may read, each replaced whole (the parsed-config cache, ACME's keys). */
public final class PrivateFiles {

  private PrivateFiles() {
  }

  /**
   * Writes {@code parts} to a new file (O_EXCL, mode 0600) beside {@code target} and renames it
   * over {@code target}: a reader sees the old content or the new, never half of it, and a link
   * planted at the name is replaced, not followed.
   */
  public static void replace(Path target, byte[]... parts) throws IOException {
    Path tmp = Files.createTempFile(target.getParent(), "." + target.getFileName(), ".tmp",
        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
    try {
      // a plain stream: a channel would copy through a direct buffer of the body's size, kept per thread
      try (OutputStream out = new java.io.FileOutputStream(tmp.toFile())) {
        for (byte[] p : parts) {
          out.write(p);
        }
      }
      try {
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
