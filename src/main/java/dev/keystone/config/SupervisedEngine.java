package dev.keystone.config;

import java.nio.file.Path;
import java.util.List;

/**
 * {@code lua_engine.supervise}: the gateway starts the script engine itself, on a Unix socket
 * only it can reach, restarts it when it exits, and confines it (docs/engine-protocol.md,
 * "A supervised engine").
 *
 * @param command      the engine's command; empty means this Keystone's own {@code keystone engine}.
 *                     {@code --scripts DIR --listen unix:SOCKET} are appended.
 * @param scripts      the scripts directory handed to the engine (default: {@code scripts_dir})
 * @param sandbox      whether to run it inside bubblewrap
 * @param memoryBytes  memory limit (the JVM heap of the built-in engine; a cgroup limit where the
 *                     host lets the gateway create one)
 * @param cpus         CPU limit in cores (JVM processor count; cgroup CPU quota where available)
 * @param maxProcesses process/thread limit (cgroup pids.max where available)
 */
public record SupervisedEngine(List<String> command, Path scripts, Sandbox sandbox, long memoryBytes, int cpus,
                               int maxProcesses) {

  public SupervisedEngine {
    command = List.copyOf(command);
  }

  /** Whether the engine runs inside bubblewrap. */
  public enum Sandbox {
    /** bubblewrap when {@code bwrap} is installed, otherwise none (logged). */
    AUTO,
    /** bubblewrap, or the engine does not start. */
    BUBBLEWRAP,
    /** a plain child process. */
    NONE
  }

  /** Whether {@code command} is the built-in Lua engine (so JVM flags apply). */
  public boolean builtIn() {
    return command.isEmpty();
  }
}
