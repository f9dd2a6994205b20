package dev.keystone.config;

import java.nio.file.Path;

/**
 * A tenant's client certificates (mutual TLS): its handshakes ask the client for a certificate
 * issued by {@code client_ca}, and the verified subject goes to the tenant's scripts, logs and
 * backends.
 *
 * @param caFile   the CA file as named in the config
 * @param caPem    the CA certificates as read and checked when the config loaded
 * @param required {@code client_auth: required} (the default): a handshake without a valid
 *                 certificate fails, and plain-HTTP requests to the tenant are refused;
 *                 {@code optional}: a certificate is verified when the client sends one
 */
public record ClientAuth(Path caFile, String caPem, boolean required) {
}
