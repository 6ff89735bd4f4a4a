"""``ecrm serve``: gunicorn worker processes, not Django's development server."""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the eCRM web server (gunicorn) and, without Redis, the background worker too."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--workers", type=int, default=int(os.environ.get("ECRM_WEB_WORKERS", 2))
        )
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument(
            "--no-worker",
            action="store_true",
            help="do not start the background worker beside the server",
        )
        parser.add_argument("--no-migrate", action="store_true")

    def handle(self, *args, host, port, workers, threads, no_worker, no_migrate, **options):
        from gunicorn.app.base import BaseApplication

        if not no_migrate:
            call_command("migrate", interactive=False, verbosity=0)

        worker = None
        if not settings.ENV.redis_url and not no_worker:
            # The embedded default: the SQLite-backed queue is drained by a child process.
            worker = subprocess.Popen([sys.executable, "-m", "ecrm", "worker"])

        class Server(BaseApplication):
            def load_config(self):
                self.cfg.set("bind", f"{host}:{port}")
                self.cfg.set("workers", workers)
                self.cfg.set("threads", threads)
                self.cfg.set("worker_class", "gthread" if threads > 1 else "sync")
                self.cfg.set("timeout", 120)
                self.cfg.set("accesslog", "-" if settings.DEBUG else None)
                self.cfg.set("proc_name", "ecrm")

            def load(self):
                from ecrm.config.wsgi import application

                return application

        self.stdout.write(f"eCRM at http://{host}:{port}/ ({workers} workers × {threads} threads)")
        try:
            Server().run()
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGINT)
                try:
                    worker.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    worker.kill()
