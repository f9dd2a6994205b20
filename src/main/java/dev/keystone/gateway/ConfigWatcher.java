package dev.keystone.gateway;

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
  private volatile byte[] digest;

  ConfigWatcher(Vertx vertx, Path file, Runnable onChange) {
    this.vertx = vertx;
    this.file = file;
    this.onChange = onChange;
    this.digest = digest();
    this.timer = vertx.setPeriodic(PERIOD_MS, id -> vertx.executeBlocking(() -> {
      poll();
      return null;
    }, false));
  }

  private void poll() {
    byte[] now = digest();
    if (now != null && !Arrays.equals(now, digest)) {
      onChange.run(); // the reload reads the file and reports what it saw through seen()
    }
  }

  /** Records the content a reload just read, so that the same content is not reloaded twice. */
  void seen(byte[] content) {
    digest = sha256(content);
  }

  private byte[] digest() {
    try {
      return sha256(Files.readAllBytes(file));
    } catch (IOException e) {
      return null; // briefly missing while being replaced: try again next time
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
