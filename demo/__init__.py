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

Word lists are in ``fixtures/demo/``. The first three stages import nothing from Django: import
``demo.loader`` for the database side.

Also here, over whatever demo is loaded: ``roads`` (a synthetic road network,
``load_demo_roads``), ``cases`` (incidents with case histories, ``load_demo_cases``), the
``create_demo_users`` command, and ``copy`` (the COPY helpers the loaders share). This package
may import every app; no app imports it.
"""
