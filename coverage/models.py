"""Coverage: the road network for the 15-minute service circle (models added by the road work)."""
