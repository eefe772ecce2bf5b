"""Admin of field presence: the field area (filled in by its owner)."""
