"""Vector tiles (Mapbox Vector Tile) of the map's layers: one ``ST_AsMVT`` statement per tile."""
