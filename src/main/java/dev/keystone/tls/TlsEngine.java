package dev.keystone.tls;

import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslProvider;

/**
 * Which TLS implementation the listener uses: BoringSSL (netty-tcnative, shipped for Linux
 * x86_64) where it loads, else the JDK's. With BoringSSL the gateway takes about 1.6 times as many
 * new handshakes per second, and over kept-alive connections the two are alike (bench/tls,
 * docs/performance.md); the JDK engine remains for other platforms.
 * {@code -Dkeystone.tls.provider=jdk} (or {@code openssl}) chooses, to compare the two.
 */
public final class TlsEngine {

  private static final SslProvider PROVIDER = choose(System.getProperty("keystone.tls.provider", ""));

  private TlsEngine() {
  }

  /** The provider for server contexts. */
  public static SslProvider provider() {
    return PROVIDER;
  }

  static SslProvider choose(String asked) {
    if (asked.equalsIgnoreCase("jdk")) {
      return SslProvider.JDK;
    }
    boolean native_ = OpenSsl.isAvailable() && SslProvider.isAlpnSupported(SslProvider.OPENSSL);
    if (asked.equalsIgnoreCase("openssl") && !native_) {
      throw new IllegalStateException("keystone.tls.provider=openssl, but BoringSSL does not load here: "
          + OpenSsl.unavailabilityCause());
    }
    return native_ ? SslProvider.OPENSSL : SslProvider.JDK;
  }

  /** For the start-up log: "BoringSSL" or "JDK". */
  public static String name() {
    return PROVIDER == SslProvider.JDK ? "JDK" : "BoringSSL";
  }
}
