package dev.keystone.proxy;

import dev.keystone.model.AcmeTokens;
import io.netty.buffer.ByteBuf;
import io.netty.handler.ssl.ApplicationProtocolConfig;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;

import java.nio.charset.StandardCharsets;

/**
 * The TLS listener's side of ACME's TLS-ALPN-01 (RFC 8737): a handshake whose ClientHello asks for
 * ALPN {@code acme-tls/1} and nothing else, for a name with a validation open, is answered with
 * that validation's self-signed certificate, and the connection ends with the handshake (no
 * HTTP). Any other handshake gets the tenants' certificates as usual, so a client cannot get the
 * validation certificate in place of a real one, and the validation cannot reach a tenant.
 */
final class AcmeValidation {

  static final String ACME_TLS = "acme-tls/1";
  private static final byte[] ACME_TLS_BYTES = ACME_TLS.getBytes(StandardCharsets.US_ASCII);
  private static final int ALPN_EXTENSION = 16;

  /** One context kept: the CA validates one name from a few places in a row. */
  private static volatile Object[] last = {null, null};

  private AcmeValidation() {
  }

  /** The context presenting {@code hostname}'s open validation, or null when none is open. */
  static SslContext context(AcmeTokens tokens, String hostname) throws javax.net.ssl.SSLException {
    AcmeTokens.AlpnAnswer a = tokens.alpn(hostname);
    if (a == null) {
      return null;
    }
    Object[] l = last;
    if (l[0] == a) {
      return (SslContext) l[1];
    }
    SslContext ctx = SslContextBuilder.forServer(a.key(), a.certificate())
        .sslProvider(SslProvider.JDK)
        .protocols("TLSv1.3", "TLSv1.2")
        .applicationProtocolConfig(new ApplicationProtocolConfig(ApplicationProtocolConfig.Protocol.ALPN,
            ApplicationProtocolConfig.SelectorFailureBehavior.FATAL_ALERT,
            ApplicationProtocolConfig.SelectedListenerFailureBehavior.FATAL_ALERT, ACME_TLS))
        .build();
    last = new Object[] {a, ctx};
    return ctx;
  }

  /**
   * Whether the ClientHello (the handshake message, as Netty's SNI handler gives it: from the
   * client version on) offers exactly one ALPN protocol, {@code acme-tls/1}. A ClientHello that
   * cannot be walked is not a validation.
   */
  static boolean asksOnlyForAcmeTls(ByteBuf hello) {
    int at = hello.readerIndex() + 34; // version (2) and random (32)
    int end = hello.writerIndex();
    try {
      at += 1 + hello.getUnsignedByte(at); // session id
      at += 2 + hello.getUnsignedShort(at); // cipher suites
      at += 1 + hello.getUnsignedByte(at); // compression methods
      int extensionsEnd = Math.min(end, at + 2 + hello.getUnsignedShort(at));
      at += 2;
      while (at + 4 <= extensionsEnd) {
        int type = hello.getUnsignedShort(at);
        int length = hello.getUnsignedShort(at + 2);
        at += 4;
        if (type == ALPN_EXTENSION) {
          // protocol_name_list length (2), then one protocol: its length (1) and name
          return length == 3 + ACME_TLS_BYTES.length && hello.getUnsignedShort(at) == 1 + ACME_TLS_BYTES.length
              && hello.getUnsignedByte(at + 2) == ACME_TLS_BYTES.length
              && at + 3 + ACME_TLS_BYTES.length <= extensionsEnd
              && io.netty.buffer.ByteBufUtil.equals(hello, at + 3, io.netty.buffer.Unpooled.wrappedBuffer(ACME_TLS_BYTES), 0,
              ACME_TLS_BYTES.length);
        }
        at += length;
      }
    } catch (IndexOutOfBoundsException truncated) {
      return false;
    }
    return false;
  }
}
