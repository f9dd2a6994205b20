package dev.keystone.config;

/**
 * A tenant's traffic mirror ({@code mirror: {backend: NAME, percent: 10}}): a copy of that share
 * of its requests goes to its service {@code backend}, whose answers are discarded.
 */
public record MirrorConfig(String backend, int percent) {
}
