package dev.keystone.engine;

import dev.keystone.config.SupervisedEngine;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The command line of a supervised engine, built in layers, outermost first:
 * <ol>
 *   <li>joining its cgroups (a shell writes its own pid, then execs the rest, so nothing the
 *       engine starts escapes the limits);</li>
 *   <li>bubblewrap: new network, PID, IPC, UTS, user and cgroup namespaces, no capabilities,
 *       no new privileges, and a file system that holds only what the engine needs to run,
 *       read-only, plus its socket directory;</li>
 *   <li>the engine: this Keystone's own {@code keystone engine} (same JVM, same jar or classpath,
 *       with a capped heap and processor count) or the configured command.</li>
 * </ol>
 */
final class EngineCommandLine {

  private EngineCommandLine() {
  }

  /**
   * What the engine is told in its environment: {@code KEYSTONE_ENGINE_MEMORY}, the bytes it has
   * ({@code supervise.memory}), so that an engine sizes its own bounds to fit (the Node engine
   * divides it among its isolates, kv stores and compiler); without it, four tenants within their
   * limits got the Node engine OOM-killed (attack on the Node engine, round 2, N2-3).
   */
  static java.util.Map<String, String> environment(SupervisedEngine spec) {
    return java.util.Map.of("KEYSTONE_ENGINE_MEMORY", Long.toString(spec.memoryBytes()));
  }

  /** Where bubblewrap is installed, or null. */
  static Path bubblewrap() {
    for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
      Path p = Path.of(dir, "bwrap");
      if (Files.isExecutable(p)) {
        return p;
      }
    }
    return null;
  }

  static List<String> build(SupervisedEngine spec, Path socket, List<Path> cgroupProcs, Path bwrap) {
    List<String> engine = engine(spec, socket, bwrap != null);
    List<String> cmd = new ArrayList<>();
    if (!cgroupProcs.isEmpty()) {
      StringBuilder join = new StringBuilder();
      for (int i = 0; i < cgroupProcs.size(); i++) {
        join.append("echo $$ > \"$").append(i + 1).append("\" && ");
      }
      cmd.addAll(List.of("/bin/sh", "-c", join + "shift " + cgroupProcs.size() + " && exec \"$@\"", "keystone-engine"));
      cgroupProcs.forEach(p -> cmd.add(p.toString()));
    }
    if (bwrap != null) {
      cmd.addAll(sandbox(bwrap, spec, socket.getParent(), engine));
    }
    cmd.addAll(engine);
    return cmd;
  }

  private static List<String> engine(SupervisedEngine spec, Path socket, boolean sandboxed) {
    List<String> cmd = new ArrayList<>();
    if (spec.builtIn()) {
      long heapMiB = Math.max(16, (spec.memoryBytes() >> 20) / 2); // the rest: metaspace, code, threads, buffers
      cmd.addAll(List.of(javaCommand(), "-Xms16m", "-Xmx" + heapMiB + "m", "-XX:+UseSerialGC", "-Xss512k",
          "-XX:MaxDirectMemorySize=16m", "-XX:ActiveProcessorCount=" + spec.cpus(), "-XX:-UsePerfData",
          "-XX:+ExitOnOutOfMemoryError",
          "-Dvertx.disableDnsResolver=true", "-Dio.netty.machineId=00:00:00:00:00:00:00:01", // it resolves no names and has no NIC
          "-cp", System.getProperty("java.class.path"), "dev.keystone.app.Main", "engine",
          "--event-loops", Integer.toString(spec.cpus())));
      if (!sandboxed) { // in its own PID namespace the gateway is invisible; bubblewrap's --die-with-parent covers it
        cmd.addAll(List.of("--parent", Long.toString(ProcessHandle.current().pid())));
      }
    } else {
      for (String arg : spec.command()) {
        Path p = Path.of(arg);
        // Relative files become absolute: inside the sandbox the working directory is /tmp.
        cmd.add(!p.isAbsolute() && Files.exists(p) ? p.toAbsolutePath().normalize().toString() : arg);
      }
    }
    cmd.addAll(List.of("--scripts", realPath(spec.scripts()), "--listen", "unix:" + socket));
    return cmd;
  }

  private static String javaCommand() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static List<String> sandbox(Path bwrap, SupervisedEngine spec, Path runtimeDir, List<String> engine) {
    List<String> cmd = new ArrayList<>(List.of(bwrap.toString(),
        // a user namespace where it is "nobody" with no capabilities at all, even when the gateway runs as root
        "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534", "--cap-drop", "ALL",
        "--die-with-parent", "--new-session", "--clearenv",
        "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "HOME", "/tmp", "--setenv", "LANG", "C.UTF-8",
        "--setenv", "KEYSTONE_ENGINE_MEMORY", environment(spec).get("KEYSTONE_ENGINE_MEMORY"),
        "--ro-bind", "/usr", "/usr", "--tmpfs", "/tmp")); // /tmp first: binds below it come after
    for (String top : List.of("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")) {
      Path p = Path.of(top);
      if (Files.isSymbolicLink(p)) { // merged /usr: keep the links
        try {
          cmd.addAll(List.of("--symlink", Files.readSymbolicLink(p).toString(), top));
        } catch (java.io.IOException e) {
          // unreadable link: the program will say what it misses
        }
      } else if (Files.isDirectory(p)) {
        cmd.addAll(List.of("--ro-bind", top, top));
      }
    }
    // Only the non-secret files of /etc a runtime reads (the JVM's configuration, time zone, users).
    for (String etc : List.of("/etc/alternatives", "/etc/java-17-openjdk", "/etc/java-21-openjdk",
        "/etc/localtime", "/etc/passwd", "/etc/group", "/etc/nsswitch.conf", "/etc/ld.so.cache")) {
      cmd.addAll(List.of("--ro-bind-try", etc, etc));
    }
    Set<Path> readOnly = new LinkedHashSet<>(); // each mounted at the path the command names it by
    if (spec.builtIn()) {
      readOnly.add(Path.of(System.getProperty("java.home")));
      for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
        if (!entry.isEmpty()) {
          readOnly.add(Path.of(entry).toAbsolutePath().normalize());
        }
      }
    } else {
      for (String arg : engine) {
        Path p = Path.of(arg);
        if (p.isAbsolute() && Files.exists(p)) {
          readOnly.add(Files.isDirectory(p) ? p : p.getParent()); // a script's siblings (its modules)
        }
      }
    }
    readOnly.add(Path.of(realPath(spec.scripts())));
    for (Path p : readOnly) {
      if (!p.startsWith("/usr")) {
        cmd.addAll(List.of("--ro-bind", realPath(p), p.toString()));
      }
    }
    cmd.addAll(List.of("--proc", "/proc", "--dev", "/dev",
        "--bind", runtimeDir.toString(), runtimeDir.toString(), "--chdir", "/tmp", "--"));
    return cmd;
  }

  private static String realPath(Path p) {
    try {
      return p.toRealPath().toString();
    } catch (java.io.IOException e) {
      return p.toAbsolutePath().normalize().toString();
    }
  }
}
