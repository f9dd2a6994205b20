package dev.keystone.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.logging.Logger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The temporary directories a gateway makes for its supervised engines: a socket's
 * ({@code engine}) and a copy of the scripts an engine serves ({@code scripts-...}). Each is
 * named {@code keystone-PID-KIND-...} after the gateway that made it; a gateway stopped cleanly
 * removes its own, and one killed with -9 cannot, so making one first removes those of gateways
 * that are gone (attack round 9 on the Node engine, N9-3: tenants' scripts stayed in /tmp for good).
 * Only directories owned by this process's user are touched, and links are removed, never followed.
 */
public final class WorkDirectories {

  private static final Logger LOG = Logger.getLogger("keystone.engine");
  private static final Pattern OURS = Pattern.compile("keystone-(\\d+)-(engine|scripts)-.+");

  private WorkDirectories() {
  }

  /** A new directory for {@code kind} in the system's temporary directory. */
  public static Path create(String kind) throws IOException {
    return create(Path.of(System.getProperty("java.io.tmpdir")), kind);
  }

  /** The same in {@code parent}, after removing the directories there of gateways that are gone. */
  static Path create(Path parent, String kind) throws IOException {
    sweep(parent);
    return Files.createTempDirectory(parent, "keystone-" + ProcessHandle.current().pid() + "-" + kind + "-");
  }

  private static void sweep(Path parent) {
    try (Stream<Path> children = Files.list(parent)) {
      children.forEach(d -> {
        Matcher m = OURS.matcher(d.getFileName().toString());
        if (m.matches() && Files.isDirectory(d, LinkOption.NOFOLLOW_LINKS) && ownedByUs(d)
            && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
          remove(d);
        }
      });
    } catch (IOException | RuntimeException e) {
      LOG.fine("cannot list " + parent + ": " + e);
    }
  }

  private static boolean ownedByUs(Path d) {
    try {
      return Files.getOwner(d, LinkOption.NOFOLLOW_LINKS).getName().equals(System.getProperty("user.name"));
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  private static void remove(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) { // does not follow links
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
      LOG.info("removed the directory of a gateway that is gone: " + dir);
    } catch (IOException | RuntimeException e) {
      LOG.fine("cannot remove " + dir + ": " + e);
    }
  }
}
