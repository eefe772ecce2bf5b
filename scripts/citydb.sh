#!/usr/bin/env bash
# The city-scale demo database for the benchmarks (issue 16): `gridmap_city` on the
# project-local cluster (or CITY_DATABASE_URL), with the city demo (4 districts, 2,823 grids,
# 1,000,000 households), its logins, 1,000,000 cases with their histories and the demo roads.
# Each step is skipped when its data is there already, so a second run costs seconds; the
# first takes about 25 minutes on 2 cores and needs about 6 GB of disk.
#
#   scripts/citydb.sh        load what is missing, then print the database's URL
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY="$ROOT/.venv/bin/python"
CASES=${CITY_CASES:-1000000}

if [ -z "${CITY_DATABASE_URL:-}" ]; then
  GRIDMAP_DB_NAME=gridmap_city "$ROOT/scripts/localdb.sh" start >&2
  CITY_DATABASE_URL=$(GRIDMAP_DB_NAME=gridmap_city "$ROOT/scripts/localdb.sh" url)
fi
export DATABASE_URL="$CITY_DATABASE_URL"
cd "$ROOT"
"$PY" manage.py migrate -v0 >&2
"$PY" manage.py load_demo --scale city --if-empty >&2
"$PY" manage.py create_demo_users >/dev/null
have=$("$PY" manage.py shell -c "from incidents.models import Incident; print(Incident.objects.count())" 2>/dev/null | tail -1)
if [ "${have:-0}" -lt "$CASES" ]; then
  "$PY" manage.py load_demo_cases --count "$CASES" --replace >&2
fi
"$PY" manage.py load_demo_roads --if-empty >&2
echo "$DATABASE_URL"
