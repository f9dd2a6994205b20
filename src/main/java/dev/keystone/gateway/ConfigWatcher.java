package dev.keystone.gateway;

import dev.keystone.config.ConfigLoader;

import io.vertx.core.Vertx;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * Reloads when the config file's content changes. Polls once a second instead of using a
 * WatchService: polling also sees files replaced through symlinks (Kubernetes ConfigMaps) and
 * editors that write a new file and rename it. Comparing content, not timestamps, avoids reloads
 * on a mere touch.
 */
final class ConfigWatcher implements AutoCloseable {

  static final long PERIOD_MS = 1000;

  private final Vertx vertx;
  private final Path file;
  private final Runnable onChange;
  private final long timer;
  private byte[] digest; // guarded by this
  /** The content the gateway started on, digested by the first poll rather than on the start's path. */
  private byte[] started; // guarded by this

  /**
   * Watches {@code file}, whose content the gateway loaded as {@code loaded} (null: as the file
   * reads now). Passing the loaded bytes also closes a window: a file changed between the load and
   * this constructor was taken for the loaded one, and never reloaded.
   */
  ConfigWatcher(Vertx vertx, Path file, byte[] loaded, Runnable onChange) {
    this.vertx = vertx;
    this.file = file;
    this.onChange = onChange;
    if (loaded != null) {
      this.started = loaded;
    } else {
      this.digest = digest();
    }
    this.timer = vertx.setPeriodic(PERIOD_MS, id -> vertx.executeBlocking(() -> {
      poll();
      return null;
    }, false));
  }

  private void poll() {
    byte[] now = digest();
    if (now != null && changed(now)) {
      onChange.run(); // the reload reads the file and reports what it saw through seen()
    }
  }

  /** Whether {@code now} differs from what was seen last; it is then what was seen, whatever the reload makes of it. */
  private synchronized boolean changed(byte[] now) {
    if (started != null) {
      digest = sha256(started);
      started = null;
    }
    if (Arrays.equals(now, digest)) {
      return false;
    }
    digest = now; // a file the reload cannot read or refuses is not reloaded again every second
    return true;
  }

  /** Records the content a reload just read, so that the same content is not reloaded twice. */
  synchronized void seen(byte[] content) {
    digest = sha256(content);
    started = null;
  }

  /**
   * The SHA-256 of the file, read in 64 KiB steps (it was read whole: a file replaced by a huge
   * one ended the gateway with an OutOfMemoryError). A file above the size a config may have is
   * not read at all, nor is anything but a regular file: its size and time stand for it, so that
   * the reload that refuses it runs once per change, not every second.
   */
  private byte[] digest() {
    try {
      java.nio.file.attribute.BasicFileAttributes a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      if (!a.isRegularFile() || a.size() > ConfigLoader.maxFileSize()) {
        // not opened: a fifo would block this poll (and the worker) for ever, /dev/zero never
        // ends (attack s12-F2, F3); the reload it triggers refuses the file
        return md.digest((a.size() + " " + a.lastModifiedTime()).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
      }
      try (java.io.InputStream in = Files.newInputStream(file)) {
        byte[] buf = new byte[64 * 1024];
        long left = ConfigLoader.maxFileSize() + 1; // a file growing while read is not read for ever
        for (int n; left > 0 && (n = in.read(buf, 0, (int) Math.min(buf.length, left))) > 0; left -= n) {
          md.update(buf, 0, n);
        }
      }
      return md.digest();
    } catch (IOException e) {
      return null; // briefly missing while being replaced: try again next time
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  static byte[] sha256(byte[] content) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(content);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    vertx.cancelTimer(timer);
  }
}
