#!/usr/bin/env bash
# Does the data of an existing database survive this tree's migrations?
#
#   scripts/check_migration_data.sh [OLD_COMMIT]     (default: the last commit before issue 10)
#
# Builds a database with an older commit's code (its migrations, the small demo, demo cases
# with their histories and notifications), counts the rows of every table, migrates it with
# this tree, counts again and prints both side by side. Exits 1 when a table that existed
# before has fewer rows after. Uses the project-local cluster (make db) and a scratch
# database, gridmap_migcheck, dropped at the start of every run.
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:-9fd22a2}
DB=gridmap_migcheck
PY=$PWD/.venv/bin/python
OLDTREE=$(mktemp -d)/old
trap 'git worktree remove --force "$OLDTREE" >/dev/null 2>&1 || true' EXIT

git worktree add -q --detach "$OLDTREE" "$OLD"
scripts/localdb.sh start >/dev/null
scripts/localdb.sh psql -qc "DROP DATABASE IF EXISTS $DB" >/dev/null
GRIDMAP_DB_NAME=$DB scripts/localdb.sh start >/dev/null
URL=$(GRIDMAP_DB_NAME=$DB scripts/localdb.sh url)

echo "== $OLD: migrate, the small demo, 2,000 demo cases, 19 incidents reported through the service (with their inbox entries)"
(
  cd "$OLDTREE"
  export DATABASE_URL=$URL
  "$PY" manage.py migrate --no-input -v 0
  "$PY" manage.py load_demo --scale small >/dev/null
  "$PY" manage.py load_demo_cases --count 2000 >/dev/null
  "$PY" manage.py create_demo_users >/dev/null
  "$PY" manage.py shell -c "
from django.contrib.auth import get_user_model
from grids.models import Grid
from incidents.models import Category
from incidents.services import incident_create
user = get_user_model().objects.get(username='grid_worker')
category = Category.objects.order_by('id').first()
for grid in Grid.objects.current().order_by('code'):
    incident_create(actor=user, point=grid.geom.point_on_surface, category=category,
                    severity='blue', description='migration check')
"
)

COUNT_SQL="
SELECT string_agg(format('SELECT %L AS t, count(*) AS n FROM %I', tablename, tablename),
                  ' UNION ALL ' ORDER BY tablename)
  FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'django_migrations'"
counts() {
  local sql
  sql=$(GRIDMAP_DB_NAME=$DB scripts/localdb.sh psql -d "$DB" -tAc "$COUNT_SQL")
  GRIDMAP_DB_NAME=$DB scripts/localdb.sh psql -d "$DB" -tA -F ' ' -c "$sql ORDER BY 1"
}
counts >var/migcheck-before.txt

echo "== this tree: migrate"
DATABASE_URL=$URL "$PY" manage.py migrate --no-input -v 1 | grep -E "Applying|No migrations" || true
counts >var/migcheck-after.txt

echo "== rows per table (before -> after)"
join -a1 -a2 -e '-' -o 0,1.2,2.2 var/migcheck-before.txt var/migcheck-after.txt |
  awk '{ flag = ($2 != "-" && ($3 == "-" || $3 + 0 < $2 + 0)) ? "  LOST" : ($2 != $3 ? "  changed" : "");
         printf "%-45s %10s -> %-10s%s\n", $1, $2, $3, flag; if (flag == "  LOST") lost = 1 }
       END { exit lost }'
echo "== every table kept its rows"
