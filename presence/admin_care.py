"""Admin of field presence: the care area (filled in by its owner)."""
