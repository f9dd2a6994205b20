package dev.keystone.script;

import java.lang.management.ManagementFactory;
import java.util.logging.Logger;

/**
 * The bytes the current thread has allocated, from HotSpot's per-thread counter (a read of a
 * thread-local field, no safepoint). A script call's memory budget is the difference between two
 * readings: it counts garbage too, so it bounds what a call can keep by construction, whatever
 * data structure the script builds. On a JVM without the counter the budget is not enforced (and
 * that is logged once); the string and instruction limits still are.
 */
final class AllocationMeter {

  private static final Logger LOG = Logger.getLogger("keystone.script");
  private static final com.sun.management.ThreadMXBean MX = bean();

  private AllocationMeter() {
  }

  private static com.sun.management.ThreadMXBean bean() {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean b
        && b.isThreadAllocatedMemorySupported()) {
      if (!b.isThreadAllocatedMemoryEnabled()) {
        b.setThreadAllocatedMemoryEnabled(true);
      }
      return b;
    }
    LOG.warning("this JVM does not count allocated bytes per thread: script_limits.max_memory is not enforced");
    return null;
  }

  /** Bytes allocated by this thread since it started; 0 where the JVM cannot tell. */
  static long allocated() {
    return MX == null ? 0 : MX.getCurrentThreadAllocatedBytes();
  }
}
