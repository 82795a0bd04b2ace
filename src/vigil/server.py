"""`vigil serve`: worker processes that each hold a runtime and answer HTTP, and the parent that minds them.

Why not `uvicorn --workers`? Two reasons measured beside HMA (issue 12): with one shared listening socket,
keep-alive connections from one client pool often all landed on one worker, leaving the machine 44 % idle;
and uvicorn's workers take their settings from the environment. Here each worker binds its own listening
socket with SO_REUSEPORT, so the kernel spreads new connections over the workers, and gets the Settings
object as an argument. The parent restarts a worker that dies, stops them all on SIGTERM or SIGINT, keeps
prometheus-client's multiprocess folder (one set of series for all workers), and can serve those metrics on
a separate address without a key (`metrics_address`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from vigil.logs import configure
from vigil.settings import Settings

log = logging.getLogger("vigil.server")

BACKLOG = 2048
RESTART_PAUSE = 1.0  # seconds before a worker that died is started again (a crash loop does not spin)


def listen(host: str, port: int) -> socket.socket:
    """A listening socket that other workers can bind too (SO_REUSEPORT): the kernel balances new connections."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(False)
    return sock


def worker_main(settings: Settings, host: str, port: int, index: int, metrics_dir: str) -> None:
    """One worker process: its own runtime, app and listening socket, until SIGTERM."""
    # prometheus-client chooses its value store when first imported: multiprocess mode needs this set before.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    configure(settings.log_format, settings.log_level)
    import uvicorn

    from vigil.app import create_app
    from vigil.runtime import Runtime

    sock = listen(host, port)
    app = create_app(Runtime.build(settings), worker=index)
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=10,
                            server_header=False)
    uvicorn.Server(config).run(sockets=[sock])


class Supervisor:
    """Starts `workers` processes and keeps them running until stopped."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self.settings, self.host, self.port, self.workers = settings, host, port, workers
        self.context = multiprocessing.get_context("spawn")
        self.metrics_dir = tempfile.mkdtemp(prefix="vigil-metrics-")
        self.processes: dict[int, multiprocessing.process.BaseProcess] = {}
        self.stopping = threading.Event()

    def start_worker(self, index: int) -> None:
        proc = self.context.Process(target=worker_main, name=f"vigil-worker-{index}",
                                    args=(self.settings, self.host, self.port, index, self.metrics_dir))
        proc.start()
        self.processes[index] = proc

    def run(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.stopping.set())
        metrics = self.serve_metrics() if self.settings.metrics_address else None
        for index in range(self.workers):
            self.start_worker(index)
        try:
            while not self.stopping.wait(0.5):
                for index, proc in list(self.processes.items()):
                    if not proc.is_alive():
                        log.error("worker %d (pid %s) exited with %s; starting it again", index, proc.pid, proc.exitcode)
                        self._forget(proc)
                        time.sleep(RESTART_PAUSE)
                        self.start_worker(index)
        finally:
            self.stop()
            if metrics is not None:
                metrics.shutdown()

    def stop(self) -> None:
        for proc in self.processes.values():
            if proc.is_alive():
                proc.terminate()
        for proc in self.processes.values():
            proc.join(15)
            if proc.is_alive():
                proc.kill()
                proc.join()
            self._forget(proc)
        shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _forget(self, proc: multiprocessing.process.BaseProcess) -> None:
        """Drop a dead worker's live gauges from the shared metrics (prometheus-client's multiprocess rule)."""
        from prometheus_client import multiprocess

        if proc.pid is not None:
            multiprocess.mark_process_dead(proc.pid, self.metrics_dir)

    def serve_metrics(self) -> ThreadingHTTPServer:
        """Every worker's metrics on `metrics_address`, without a key: bind it to a private scrape network only."""
        from vigil.web.metrics import CONTENT_TYPE, exposition

        folder = self.metrics_dir
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404, "only /metrics is served here")
                    return
                body = exposition()
                self.send_response(200)
                self.send_header("Content-Type", CONTENT_TYPE)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args) -> None:  # noqa: A002 (the stdlib's signature)
                log.debug("metrics: " + format, *args)

        host, _, port = (self.settings.metrics_address or "").rpartition(":")
        server = ThreadingHTTPServer((host.strip("[]") or "127.0.0.1", int(port)), Handler)
        threading.Thread(target=server.serve_forever, name="vigil-metrics", daemon=True).start()
        log.info("metrics for every worker on http://%s/metrics", self.settings.metrics_address)
        return server


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run the service until SIGTERM or SIGINT."""
    configure(settings.log_format, settings.log_level)
    Supervisor(settings, host, port, workers).run()
