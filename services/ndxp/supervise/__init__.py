"""The services under supervisord: the crash watch (an event listener that restarts them with
backoff and records every exit) and the ``status``/``check`` reports of ``infra/platform.sh``.

``python -m ndxp.supervise listen|status|check``; see ``infra/supervisor/README.md``.
"""
