"""gridmap's database backend: GeoDjango's PostGIS backend with date-times read by psycopg's
compiled loader (``gridmap.db.base``)."""
