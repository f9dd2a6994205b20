package dev.keystone.config;

import dev.keystone.model.ApiKeyTable;

import java.nio.file.Path;

/**
 * {@code api_keys_file}: the keys file the config names, as it was read (the content, so that a
 * change to the file reloads the config like a certificate file's does; its bytes as ISO-8859-1
 * characters) and the keys in it.
 */
public record ApiKeysFile(Path file, String content, ApiKeyTable table) {
}
