"""Admin of field presence: the duty area (filled in by its owner)."""
