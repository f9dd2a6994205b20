package dev.keystone.engine;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.logging.Logger;

/**
 * Kernel-enforced memory, CPU and process limits for a supervised engine: a cgroup of its own,
 * created under the gateway's (v1 controllers or the v2 unified tree), when the host lets the
 * gateway create one. Where it cannot, {@link #applied()} is empty and the supervisor says so:
 * the built-in engine then still has its JVM limits (heap, processor count).
 */
final class CgroupLimits {

  private static final Logger LOG = Logger.getLogger("keystone.engine");

  private final Path root;
  private final List<Path> groups = new ArrayList<>();   // directories created, removed on close
  private final List<String> applied = new ArrayList<>(); // "memory 256 MiB (cgroup v1)", ...

  CgroupLimits(Path root) {
    this.root = root;
  }

  /** Limits on the host's cgroup tree at /sys/fs/cgroup. */
  static CgroupLimits create(String name, long memoryBytes, int cpus, int maxProcesses) {
    CgroupLimits c = new CgroupLimits(Path.of("/sys/fs/cgroup"));
    c.setUp(name, memoryBytes, cpus, maxProcesses);
    return c;
  }

  void setUp(String name, long memoryBytes, int cpus, int maxProcesses) {
    Map<String, String> own = ownGroups();
    if (Files.exists(root.resolve("cgroup.controllers"))) { // v2: one tree
      Path g = child(root, own.get(""), name);
      if (g != null) {
        limit(g, "memory.max", Long.toString(memoryBytes), "memory " + (memoryBytes >> 20) + " MiB (cgroup v2)");
        limit(g, "cpu.max", (cpus * 100_000L) + " 100000", "cpu " + cpus + " core(s) (cgroup v2)");
        limit(g, "pids.max", Integer.toString(maxProcesses), "processes " + maxProcesses + " (cgroup v2)");
      }
      return;
    }
    Path m = child(root.resolve("memory"), own.get("memory"), name);
    if (m != null) {
      limit(m, "memory.limit_in_bytes", Long.toString(memoryBytes), "memory " + (memoryBytes >> 20) + " MiB (cgroup v1)");
      limit(m, "memory.memsw.limit_in_bytes", Long.toString(memoryBytes), null); // no swap on top, where accounted
    }
    Path c = child(root.resolve("cpu"), own.get("cpu"), name);
    if (c != null) {
      limit(c, "cpu.cfs_period_us", "100000", null);
      limit(c, "cpu.cfs_quota_us", Long.toString(cpus * 100_000L), "cpu " + cpus + " core(s) (cgroup v1)");
    }
    Path p = child(root.resolve("pids"), own.get("pids"), name);
    if (p != null) {
      limit(p, "pids.max", Integer.toString(maxProcesses), "processes " + maxProcesses + " (cgroup v1)");
    }
  }

  /** What the kernel will enforce, for the log; empty when no cgroup could be made. */
  List<String> applied() {
    return List.copyOf(applied);
  }

  /** The {@code cgroup.procs} files a process writes its pid to, to join every group. */
  List<Path> procsFiles() {
    return groups.stream().map(g -> g.resolve("cgroup.procs")).toList();
  }

  /** Removes the groups (they must be empty: after the engine has exited). */
  void close() {
    for (Path g : groups) {
      try {
        Files.deleteIfExists(g);
      } catch (IOException e) {
        LOG.fine("cannot remove " + g + ": " + e);
      }
    }
  }

  /** controller ("" for v2) to this process's group path, from /proc/self/cgroup. */
  private static Map<String, String> ownGroups() {
    Map<String, String> out = new java.util.HashMap<>();
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/cgroup"), StandardCharsets.UTF_8)) {
        String[] f = line.split(":", 3);
        if (f.length == 3) {
          for (String controller : f[1].split(",")) {
            out.put(controller, f[2]);
          }
        }
      }
    } catch (IOException e) {
      LOG.fine("cannot read /proc/self/cgroup: " + e);
    }
    return out;
  }

  private Path child(Path mount, String own, String name) {
    if (own == null || !Files.isDirectory(mount)) {
      return null;
    }
    Path g = mount.resolve(own.replaceFirst("^/", "")).resolve(name);
    sweepStale(g.getParent());
    try {
      Files.createDirectories(g);
      if (!Files.exists(g.resolve("cgroup.procs"))) {
        return null; // not a cgroup file system
      }
      groups.add(g);
      return g;
    } catch (IOException | RuntimeException e) {
      LOG.fine("cannot create cgroup " + g + ": " + e);
      return null;
    }
  }

  /** Group names: keystone-engine-GATEWAYPID-... (see EngineSupervisor). */
  private static final java.util.regex.Pattern OURS = java.util.regex.Pattern.compile("keystone-engine-(\\d+)-.+");

  /**
   * Removes the groups of gateways that are gone: a gateway killed with -9 cannot remove its
   * engine's group (the engine dies with it, thanks to --die-with-parent or its parent watch, so
   * the group is empty by then). The kernel refuses to remove a group that still has processes.
   */
  static void sweepStale(Path parent) {
    if (parent == null || !Files.isDirectory(parent)) {
      return;
    }
    try (var children = Files.list(parent)) {
      children.forEach(g -> {
        java.util.regex.Matcher m = OURS.matcher(g.getFileName().toString());
        if (m.matches() && Files.isDirectory(g)
            && !ProcessHandle.of(Long.parseLong(m.group(1))).map(ProcessHandle::isAlive).orElse(false)) {
          try {
            Files.delete(g);
            LOG.info("removed the cgroup of a gateway that is gone: " + g);
          } catch (IOException | RuntimeException e) {
            LOG.fine("cannot remove stale cgroup " + g + ": " + e);
          }
        }
      });
    } catch (IOException | RuntimeException e) {
      LOG.fine("cannot list " + parent + ": " + e);
    }
  }

  private void limit(Path group, String file, String value, String description) {
    try {
      Files.writeString(group.resolve(file), value);
      if (description != null) {
        applied.add(description);
      }
    } catch (IOException e) {
      LOG.fine("cannot set " + group.resolve(file) + " to " + value + ": " + e);
    }
  }
}
