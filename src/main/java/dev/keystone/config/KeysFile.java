package dev.keystone.config;

import dev.keystone.model.ApiKey;
import dev.keystone.policy.ApiKeyCodec;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The keys file {@code api_keys_file} names, as {@code keystone keys} and the admin API change it:
 * read, changed and written whole (a new file, mode 0600, renamed over the old, so the gateway's
 * watcher never reads half of it), under a lock so that two changes cannot lose one another.
 */
public final class KeysFile {

  private KeysFile() {
  }

  /** The keys in {@code file} (none when it does not exist yet). */
  public static List<ApiKey> list(Path file) throws IOException {
    if (!Files.exists(file)) {
      return List.of();
    }
    byte[] bytes = Files.readAllBytes(file);
    return List.copyOf(ApiKeysBinder.table(new String(bytes, StandardCharsets.ISO_8859_1)).bySha256().values().stream()
        .sorted(java.util.Comparator.comparing(ApiKey::name)).toList());
  }

  /** Adds {@code key}; false (nothing written) when a key of that name exists. */
  public static boolean add(Path file, ApiKey key) throws IOException {
    return change(file, keys -> {
      if (keys.stream().anyMatch(k -> k.name().equals(key.name()))) {
        return false;
      }
      keys.add(key);
      return true;
    });
  }

  /** Removes the key named {@code name}; false when there is none. */
  public static boolean remove(Path file, String name) throws IOException {
    return change(file, keys -> keys.removeIf(k -> k.name().equals(name)));
  }

  private interface Change {
    boolean apply(List<ApiKey> keys);
  }

  /**
   * One change at a time within this process too: a file lock is held by the process, and a
   * second lock() of it from another thread throws (attack s18-policy F7: 20 of 30 concurrent
   * admin API writes failed with an empty error).
   */
  private static final Object IN_PROCESS = new Object();

  private static boolean change(Path file, Change change) throws IOException {
    synchronized (IN_PROCESS) {
      return changeLocked(file, change);
    }
  }

  private static boolean changeLocked(Path file, Change change) throws IOException {
    Path abs = file.toAbsolutePath();
    Files.createDirectories(abs.getParent());
    Path lockFile = abs.resolveSibling("." + abs.getFileName() + ".lock");
    try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
         FileLock lock = ch.lock()) {
      List<ApiKey> keys = new ArrayList<>(list(abs));
      if (!change.apply(keys)) {
        return false;
      }
      JsonArray list = new JsonArray();
      keys.stream().sorted(java.util.Comparator.comparing(ApiKey::name)).forEach(k -> list.add(ApiKeyCodec.toJson(k)));
      PrivateFiles.replace(abs, new JsonObject().put("keys", list).encodePrettily().concat("\n").getBytes(StandardCharsets.UTF_8));
      return true;
    }
  }
}
