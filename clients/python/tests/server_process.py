"""Runs the real ``battlegrid`` binary for end-to-end tests.

Starts ``battlegrid serve`` on loopback with ephemeral ports and a
temporary data directory, reads the ``listening <name> <addr>`` lines and
``ready`` it prints on stdout, and stops it with SIGTERM. The binary is
``$BATTLEGRID_BIN``, by default ``<repo>/target/debug/battlegrid``.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import threading
from pathlib import Path

from conftest import REPO_ROOT

#: Safety net for the server to bind and print ``ready``; never what a test asserts.
START_TIMEOUT = 60.0


def server_binary() -> Path:
    return Path(os.environ.get("BATTLEGRID_BIN", REPO_ROOT / "target" / "debug" / "battlegrid"))


class ServerProcess:
    """A running server; ``http_url`` is the base URL of its public HTTP API."""

    def __init__(self, data_dir: Path, config: Path | None = None, scheme: str = "http") -> None:
        """Starts the server; ``config`` is a TOML file for ``--config``, and
        ``scheme`` is ``https`` when that file turns on ``[public_tls]``."""
        self._data_dir = data_dir
        self._config = config
        self._scheme = scheme
        self.log_path = data_dir.parent / "server.log"
        self._spawn({"game": "127.0.0.1:0", "http": "127.0.0.1:0", "admin": "127.0.0.1:0"})

    def restart(self, sig: signal.Signals) -> None:
        """Stops the server with ``sig`` (SIGTERM or SIGKILL) and starts a new
        process on the same data directory and the same ports."""
        self.proc.send_signal(sig)
        self.proc.wait(timeout=30)
        self._log.close()
        self._spawn(dict(self.addrs))

    def _spawn(self, listen: dict[str, str]) -> None:
        data_dir, config, scheme = self._data_dir, self._config, self._scheme
        binary = server_binary()
        if not binary.is_file():
            raise FileNotFoundError(
                f"server binary {binary} not found: build it with "
                "`cargo build -p battlegrid-server --bin battlegrid` or set BATTLEGRID_BIN"
            )
        # Open for the life of the process, closed in stop().
        self._log = open(self.log_path, "ab")  # noqa: SIM115
        config_args = [] if config is None else ["--config", str(config)]
        self.proc = subprocess.Popen(
            [
                str(binary),
                "serve",
                *config_args,
                "--data",
                str(data_dir),
                "--maps",
                str(REPO_ROOT / "assets-maps"),
                "--game",
                listen["game"],
                "--http",
                listen["http"],
                "--admin",
                listen["admin"],
            ],
            stdout=subprocess.PIPE,
            stderr=self._log,
            stdin=subprocess.DEVNULL,
            cwd=REPO_ROOT,
        )
        self.addrs: dict[str, str] = {}
        lines: queue.Queue[str | None] = queue.Queue()

        def pump() -> None:
            assert self.proc.stdout is not None
            for raw in self.proc.stdout:
                lines.put(raw.decode("utf-8", "replace").strip())
            lines.put(None)

        threading.Thread(target=pump, daemon=True).start()
        try:
            while True:
                line = lines.get(timeout=START_TIMEOUT)
                if line is None:
                    raise RuntimeError(f"server exited before ready; log:\n{self.log()}")
                if line == "ready":
                    break
                parts = line.split()
                if len(parts) == 3 and parts[0] == "listening":
                    self.addrs[parts[1]] = parts[2]
        except BaseException:
            self.stop()
            raise
        self.http_url = f"{scheme}://" + self.addrs["http"]

    def log(self) -> str:
        """The server's stderr so far (for failure messages)."""
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")[-20_000:]

    def stop(self) -> int:
        """SIGTERM, then SIGKILL if it has not exited within 30 s; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()
        return self.proc.returncode
