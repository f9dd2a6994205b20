package dev.keystone.catalog;

/** A catalog, entry, lock file or installed script that cannot be used: the message says which and why. */
public final class CatalogException extends Exception {

  public CatalogException(String message) {
    super(message);
  }

  public CatalogException(String message, Throwable cause) {
    super(message, cause);
  }
}
