// LRUCache: identity → slot map with journaled operations and rollback.
