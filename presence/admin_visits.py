"""Admin of field presence: the visits area (filled in by its owner)."""
