"""Media for publishing: reading source bytes in ranges, probing facts for validation, URLs platforms pull."""
