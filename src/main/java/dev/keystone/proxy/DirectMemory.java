package dev.keystone.proxy;

import io.netty.util.internal.PlatformDependent;

import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;

/**
 * How full the direct memory is: the network buffers (Netty's pools) live there, and clients
 * that do not read make them grow. Past {@link #PRESSURE} the gateway sheds those clients before
 * an allocation fails (which, through the JDK's own accounting, would also stall an event loop
 * while it waits for a collection). Netty counts its own use when it may (see bin/jvm.options);
 * otherwise the JDK's buffer pool says.
 */
public final class DirectMemory {

  /** The share of the direct memory limit above which clients that do not read are cut. */
  static final double PRESSURE = 0.75;
  private static final long MAX = PlatformDependent.maxDirectMemory();
  private static final BufferPoolMXBean POOL = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
      .filter(p -> p.getName().equals("direct")).findFirst().orElse(null);

  private DirectMemory() {
  }

  /** The direct memory limit in bytes (-XX:MaxDirectMemorySize, or the JVM's default). */
  public static long max() {
    return MAX;
  }

  /** Bytes of direct memory in use by the network buffers. */
  public static long used() {
    long n = PlatformDependent.usedDirectMemory();
    if (n >= 0) {
      return n;
    }
    return POOL == null ? 0 : POOL.getMemoryUsed();
  }

  /** Whether the direct memory is fuller than {@link #PRESSURE} of its limit. */
  static boolean underPressure() {
    return MAX > 0 && used() > MAX * PRESSURE;
  }
}
