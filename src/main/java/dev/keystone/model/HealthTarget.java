package dev.keystone.model;

import java.time.Duration;

/** One active health check: the backend state it feeds ({@code key}), a backend to ask, and how often. */
public record HealthTarget(String key, Backend backend, Duration interval) {
}
