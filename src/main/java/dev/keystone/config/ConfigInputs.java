package dev.keystone.config;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * Everything a config load reads besides the config's own text: environment variables, files
 * (scripts, CA certificates), whether directories and files exist, the working directory. The
 * binders read these only through here, so one load's list is complete by construction
 * ({@code ConfigInputsGuardTest} fails on a binder that reads the environment or the disk
 * directly), and a cached config ({@link ConfigCache}) is reused only while every one of them is
 * still as it was.
 */
final class ConfigInputs {

  /** What was read: its kind, what it names, and what it was (null for an unset variable). */
  record Input(Kind kind, String name, String value) {
  }

  enum Kind {
    /** An environment variable: its value, or null when unset. */
    ENV,
    /** Whether a path is a directory: "true" or "false". */
    DIRECTORY,
    /** Whether a path is a regular file: "true" or "false". */
    REGULAR_FILE,
    /** A file's content: its SHA-256, or "unreadable". */
    CONTENT
  }

  /** The most any reader here reads (a CA file): a file now larger has changed, unread. */
  static final int MAX_READ = TlsBinder.MAX_CA_FILE;

  private final Function<String, String> env;
  private final Map<String, Input> seen = new LinkedHashMap<>();

  ConfigInputs(Function<String, String> env) {
    this.env = env;
  }

  String env(String name) {
    String value = env.apply(name);
    record(Kind.ENV, name, value);
    return value;
  }

  boolean isDirectory(Path path) {
    boolean is = Files.isDirectory(path);
    record(Kind.DIRECTORY, path.toString(), Boolean.toString(is));
    return is;
  }

  boolean isRegularFile(Path path) {
    boolean is = Files.isRegularFile(path);
    record(Kind.REGULAR_FILE, path.toString(), Boolean.toString(is));
    return is;
  }

  /** A file above the size its reader allows, refused unread. */
  static final class TooLarge extends IOException {
    final long size;

    TooLarge(long size) {
      super(size + " bytes");
      this.size = size;
    }
  }

  /**
   * Reads {@code path} whole, recording its SHA-256. A file above {@code max} bytes is refused
   * ({@link TooLarge}): unread, or as soon as it grows past it while read.
   */
  byte[] read(Path path, int max) throws IOException {
    if (Files.exists(path) && !Files.isRegularFile(path)) {
      // a fifo or a device would block the load (and a reload) until someone writes to it
      record(Kind.CONTENT, path.toString(), "unreadable");
      throw new IOException("not a regular file");
    }
    try (InputStream in = Files.newInputStream(path)) {
      long size = Files.size(path);
      if (size > max) {
        throw new TooLarge(size);
      }
      byte[] bytes = in.readNBytes(max + 1);
      if (bytes.length > max) {
        throw new TooLarge(Math.max(bytes.length, Files.size(path)));
      }
      record(Kind.CONTENT, path.toString(), sha256(bytes));
      return bytes;
    } catch (IOException e) {
      record(Kind.CONTENT, path.toString(), "unreadable");
      throw e;
    }
  }

  /** The working directory, which relative paths resolve against (always part of a cache key). */
  static Path workingDirectory() {
    return Path.of("").toAbsolutePath();
  }

  private void record(Kind kind, String name, String value) {
    seen.putIfAbsent(kind + " " + name, new Input(kind, name, value));
  }

  List<Input> inputs() {
    return new ArrayList<>(seen.values());
  }

  /**
   * Checks that every input still reads as recorded; returns the content of the files read (by
   * path) when they all do, else null. The contents are the bytes just compared, so a script
   * compiled from them is the one that was checked.
   */
  static Map<String, byte[]> unchanged(List<Input> inputs, Function<String, String> env) {
    Map<String, byte[]> contents = new LinkedHashMap<>();
    for (Input in : inputs) {
      String now;
      switch (in.kind()) {
        case ENV -> now = env.apply(in.name());
        case DIRECTORY -> now = Boolean.toString(Files.isDirectory(Path.of(in.name())));
        case REGULAR_FILE -> now = Boolean.toString(Files.isRegularFile(Path.of(in.name())));
        default -> {
          if (!Files.isRegularFile(Path.of(in.name()))) {
            return null; // it was one when recorded; and a fifo would block the start
          }
          try (InputStream s = Files.newInputStream(Path.of(in.name()))) {
            byte[] bytes = s.readNBytes(MAX_READ + 1);
            now = bytes.length > MAX_READ ? "too large" : sha256(bytes); // was not, when recorded
            contents.put(in.name(), bytes);
          } catch (IOException e) {
            now = "unreadable";
          }
        }
      }
      if (!java.util.Objects.equals(now, in.value())) {
        return null;
      }
    }
    return contents;
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
