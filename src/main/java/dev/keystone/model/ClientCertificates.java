package dev.keystone.model;

/** Whether a tenant asks its TLS clients for certificates (mutual TLS), and whether it insists. */
public enum ClientCertificates {
  /** No client certificates (the default). */
  NONE,
  /** Verified when the client sends one; requests without one are served too. */
  OPTIONAL,
  /** A handshake without a valid certificate fails; plain-HTTP requests are refused. */
  REQUIRED
}
