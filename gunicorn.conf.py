"""gunicorn's configuration: `make run`, the bench (bench/scenarios.py, ``serve``) and the
systemd unit of docs/deployment.md all start ``gunicorn -c gunicorn.conf.py``.

Every value can be changed by an environment variable (docs/deployment.md, "Application
server"); the defaults suit a county server with 2 cores behind nginx on the same machine.

Database connections: each gunicorn thread keeps at most one (Django's ``CONN_MAX_AGE``), so
the web server holds at most ``workers x threads`` of them; docs/deployment.md adds the
worker's and gives the bound the bench checks.
"""

from __future__ import annotations

import os


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


# Loopback by default: nginx (or the developer's browser) on the same machine. A server never
# exposes gunicorn itself.
host = os.environ.get("GRIDMAP_WEB_HOST", "127.0.0.1")
port = env_int("GRIDMAP_WEB_PORT", 8000)
bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
wsgi_app = "gridmap.wsgi:application"

# Processes x threads. The requests are short and mostly wait on PostgreSQL (a lookup, a
# routing statement, a list), so threads, not processes, carry the load: while one waits,
# another runs, without the memory of another process (each holds Django, GDAL, pandas).
# Measured with the bench (20 clients, 2 cores): 3 x 2 served about 30 requests/s, 3 x 4 and
# 2 x 4 about 50. Three processes on two cores: one can be busy in Python (a PDF, an export)
# or being replaced (max_requests) while the others serve. More cores: workers = cores + 1.
workers = env_int("GRIDMAP_WEB_WORKERS", 3)
threads = env_int("GRIDMAP_WEB_THREADS", 4)
worker_class = "gthread"
# A worker that stops answering its master's heartbeat for this long is killed and replaced.
# (With threads, a slow request does not stop the heartbeat: nginx's proxy_read_timeout bounds
# requests; docs/deployment.md.)
timeout = env_int("GRIDMAP_WEB_TIMEOUT", 120)
# On SIGHUP (systemctl reload) or SIGTERM, requests under way get this long to finish.
graceful_timeout = env_int("GRIDMAP_WEB_GRACEFUL_TIMEOUT", 30)
# Keep-alive connections from nginx (upstream keepalive) and from the bench's clients.
keepalive = 5
# A worker is replaced (gracefully, one at a time) after this many requests, so slow growth
# of memory in a long-lived process never adds up. 0 turns it off.
max_requests = env_int("GRIDMAP_WEB_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10
# The heartbeat file in memory, not on a disk that may stall.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# systemd and signals manage the server; no control socket in $XDG_RUNTIME_DIR or ~/.gunicorn
# (two servers on one machine, a developer's and the bench's, would share its path).
control_socket_disable = True

# The access log holds the path, never the query string (``%(U)s``, not ``%(r)s`` or
# ``%(q)s``) and no Referer (``%(f)s``, the previous page's address with its query): a search
# for a resident by ID number or phone (``/admin/households/household/?q=...``,
# ``/api/households/?q=...``) must never reach a log. tests/security/test_serving.py checks it.
# In each worker, Django's settings.LOGGING then hands the gunicorn.access and gunicorn.error
# loggers to its console handler (standard error, the journal under systemd), through the
# filter that also blanks ID numbers and phones anywhere in a line (gridmap.logfilters).
accesslog = "-"
access_log_format = '%(h)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GRIDMAP_WEB_LOG_LEVEL", "info")

# Django's connections say which process they belong to (pg_stat_activity.application_name),
# unless the operator named them already. (This file runs in the master process before the
# workers start; they inherit its environment.)
os.environ.setdefault("GRIDMAP_DB_APPLICATION_NAME", "gridmap-web")
