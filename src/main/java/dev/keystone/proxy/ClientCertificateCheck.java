package dev.keystone.proxy;

import dev.keystone.model.ClientCertificates;
import dev.keystone.model.Tenant;

import java.security.cert.X509Certificate;

/**
 * Mutual TLS for tenants with {@code client_ca}: the handshake verified the client's certificate
 * against the CA of the tenant whose name it asked for (SNI); this step makes sure the request is
 * for that same tenant, and tells the rest of the path who the client is.
 *
 * <ul>
 *   <li>A request routed (by its Host) to a tenant whose client_ca and mode are not those of the
 *       handshake the connection made is answered 421 Misdirected Request (RFC 9110 section
 *       15.5.20): a certificate verified against tenant A's CA must not open tenant B, nor a
 *       connection made without one reach B, whose handshake would have asked for it.</li>
 *   <li>Plain HTTP to a tenant with {@code client_auth: required} is refused 403 (it carries no
 *       certificate); {@code https_redirect}, before this step, sends such clients to HTTPS.</li>
 *   <li>The verified subject (RFC 4514 text) goes to the backend and to the tenant's script as
 *       {@code X-Client-Cert-Subject}, set by the gateway only: a value the client sent is
 *       removed, for every tenant (a backend may serve one with client_ca and one without). The
 *       access log records it.</li>
 * </ul>
 */
final class ClientCertificateCheck implements Interceptor {

  static final String SUBJECT_HEADER = "X-Client-Cert-Subject";

  @Override
  public void handle(Exchange ex) {
    Tenant t = ex.tenant();
    RequestHead head = ex.head();
    head.headers().remove(SUBJECT_HEADER); // for every tenant: a backend may serve several
    if (t.clientCertificates() == ClientCertificates.NONE) {
      ex.next();
      return;
    }
    if (!head.secure()) {
      if (t.clientCertificates() == ClientCertificates.REQUIRED) {
        ex.fail(ProxyError.FORBIDDEN, "tenant " + t.name() + " requires a client certificate: use HTTPS");
        return;
      }
      ex.next();
      return;
    }
    if (!t.clientAuthKey().equals(head.tlsClientAuth())) {
      // The handshake asked for (and verified) the client certificates of another tenant's
      // client_ca, or none: what it proved says nothing for this tenant (attack s14b-1: a
      // wildcard tenant was reached on a connection made for a name under it whose own tenant
      // trusts another CA). The same CA and mode: the same proof, whichever tenant's handshake.
      ex.fail(ProxyError.MISDIRECTED, "the TLS handshake was for " + (head.tlsServerName() == null ? "no name"
          : head.tlsServerName()) + ", whose client certificates are not tenant " + t.name() + "'s: connect with its name");
      return;
    }
    X509Certificate cert = head.clientCertificate();
    if (cert == null && t.clientCertificates() == ClientCertificates.REQUIRED) {
      ex.fail(ProxyError.FORBIDDEN, "tenant " + t.name() + " requires a client certificate");
      return;
    }
    if (cert != null) {
      String subject = subjectText(cert);
      ex.clientSubject = subject;
      head.headers().set(SUBJECT_HEADER, subject);
    }
    ex.next();
  }

  /**
   * The certificate's subject as RFC 4514 text in ASCII: what RFC 2253 formatting leaves outside
   * printable ASCII (non-Latin letters, control characters) is written as the {@code \XX}
   * escapes of its UTF-8 bytes, which RFC 4514 allows. A header carries Latin-1 at most: Иван and
   * Петр both became "????" (attack s14b-2), and a CR failed the header, a 500 and a stack trace
   * each time (s14b-3). One subject, one text; two subjects, two texts.
   */
  static String subjectText(X509Certificate cert) {
    String name = cert.getSubjectX500Principal().getName();
    StringBuilder out = null;
    for (int i = 0; i < name.length(); ) {
      int cp = name.codePointAt(i);
      int n = Character.charCount(cp);
      if (cp < 0x20 || cp >= 0x7f) {
        if (out == null) {
          out = new StringBuilder(name.length() + 16).append(name, 0, i);
        }
        for (byte b : new String(Character.toChars(cp)).getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
          out.append('\\').append(HEX[(b >> 4) & 0xf]).append(HEX[b & 0xf]);
        }
      } else if (out != null) {
        out.append((char) cp);
      }
      i += n;
    }
    return out == null ? name : out.toString();
  }

  private static final char[] HEX = "0123456789ABCDEF".toCharArray();
}
