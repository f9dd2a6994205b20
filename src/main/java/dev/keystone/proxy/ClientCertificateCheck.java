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
 *   <li>A request routed (by its Host) to a tenant other than the one whose handshake the
 *       connection made is answered 421 Misdirected Request (RFC 9110 section 15.5.20): a
 *       certificate verified for tenant A must not open tenant B, nor a connection to A without
 *       one reach B, whose handshake would have asked for it.</li>
 *   <li>Plain HTTP to a tenant with {@code client_auth: required} is refused 403 (it carries no
 *       certificate); {@code https_redirect}, before this step, sends such clients to HTTPS.</li>
 *   <li>The verified subject (RFC 4514 text) goes to the backend and to the tenant's script as
 *       {@code X-Client-Cert-Subject}, set by the gateway only: a value the client sent is
 *       removed first. The access log records it.</li>
 * </ul>
 */
final class ClientCertificateCheck implements Interceptor {

  static final String SUBJECT_HEADER = "X-Client-Cert-Subject";

  @Override
  public void handle(Exchange ex) {
    Tenant t = ex.tenant();
    if (t.clientCertificates() == ClientCertificates.NONE) {
      ex.next();
      return;
    }
    RequestHead head = ex.head();
    head.headers().remove(SUBJECT_HEADER);
    if (!head.secure()) {
      if (t.clientCertificates() == ClientCertificates.REQUIRED) {
        ex.fail(ProxyError.FORBIDDEN, "tenant " + t.name() + " requires a client certificate: use HTTPS");
        return;
      }
      ex.next();
      return;
    }
    if (!t.servesName(head.tlsServerName())) {
      ex.fail(ProxyError.MISDIRECTED, "the TLS handshake was for " + (head.tlsServerName() == null ? "no name"
          : head.tlsServerName()) + ", not for tenant " + t.name() + ": connect with its name");
      return;
    }
    X509Certificate cert = head.clientCertificate();
    if (cert == null && t.clientCertificates() == ClientCertificates.REQUIRED) {
      ex.fail(ProxyError.FORBIDDEN, "tenant " + t.name() + " requires a client certificate");
      return;
    }
    if (cert != null) {
      String subject = cert.getSubjectX500Principal().getName(); // RFC 2253/4514: no CR, LF
      ex.clientSubject = subject;
      head.headers().set(SUBJECT_HEADER, subject);
    }
    ex.next();
  }
}
