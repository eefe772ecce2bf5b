"""The synthetic demo inside the real Qinzhou boundaries (``python manage.py load_demo``).

Four stages; the first three are pure (numpy and shapely, no database) and deterministic for
a seed, so they can be tested and timed on their own:

1. ``plan.plan_boundaries``: towns, station areas, villages and grids, exactly tiling the
   districts (the partition scheme is in ``partition``);
2. ``population.synthesise_population``: buildings, households, party members, central
   households, ten-household units, service centres;
3. ``people.synthesise_staff``: workers and their roles, with deliberate gaps;
4. ``loader.load_demo``: one transaction that imports the real boundaries if needed, writes
   everything (bulk_create and COPY) and derives grids in PostGIS.

Word lists are in ``fixtures/demo/``. This package imports nothing from Django: import
``grids.demo.loader`` for the database side.
"""
