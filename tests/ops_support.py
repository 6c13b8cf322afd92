"""What the operations tests share: a tool that must be there under CI (promtool), reading a
Prometheus exposition, running promtool on series taken from a real run, a TCP proxy that
makes the database "go away" for the processes behind it, and the check that every line a
process wrote is in the one log format."""

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from ledger.logs import parse_logfmt

REPO = Path(__file__).resolve().parents[1]
ALERTS = REPO / "deploy" / "prometheus" / "alerts.yml"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def need(tool: str) -> str:
    """The tool's path; without it skip loudly, or fail under ``CI=true``."""
    path = shutil.which(tool)
    if path is None:
        reason = f"{tool} is not installed (Debian: apt-get install prometheus; .ci/run does)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        print(f"\n!!! SKIPPING: {reason} !!!\n", file=sys.stderr)
        pytest.skip(reason)
    return path


def samples(text: str) -> Samples:
    """Every sample of an exposition, keyed by name and labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def registry_samples(registry: CollectorRegistry) -> Samples:
    return samples(generate_latest(registry).decode())


def value(found: Samples, name: str, **labels: str) -> float:
    """The sample ``name`` with exactly ``labels``; fails naming what there is."""
    key = (name, frozenset(labels.items()))
    if key not in found:
        near = sorted(dict(k[1]) for k in found if k[0] == name)
        pytest.fail(f"no sample {name}{labels}; there are {near}")
    return found[key]


def promtool_alerts(
    series: Iterable[tuple[str, Mapping[str, str], str]],
    expected: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """Run ``alerts.yml`` in promtool over ``series`` (name, labels, values) and check the
    ``expected`` alert_rule_test cases (``eval_time``, ``alertname``, ``exp_alerts``)."""

    def render(name: str, labels: Mapping[str, str]) -> str:
        inside = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        return f"{name}{{{inside}}}"

    test = {
        "rule_files": [str(ALERTS)],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": render(name, labels), "values": values}
                    for name, labels, values in series
                ],
                "alert_rule_test": expected,
            }
        ],
    }
    path = tmp_path / "from_a_real_run_test.yml"
    path.write_text(yaml.safe_dump(test, sort_keys=False))
    result = subprocess.run(
        [need("promtool"), "test", "rules", str(path)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def bad_log_lines(text: str, fmt: str = "logfmt") -> list[str]:
    """The lines of ``text`` that are not one record of the log format with ts and level."""
    bad = []
    for line in text.splitlines():
        try:
            fields = json.loads(line) if fmt == "json" else parse_logfmt(line)
            if not isinstance(fields, dict) or list(fields)[:2] != ["ts", "level"]:
                raise ValueError("ts and level do not come first")
        except ValueError:
            bad.append(line)
    return bad


class TcpProxy:
    """A loopback TCP proxy to ``target``. ``down()`` drops every open connection and
    refuses new ones until ``up()``: the database went away, and came back."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._down = False
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            with self._lock:
                down = self._down
            if down:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def down(self) -> None:
        with self._lock:
            self._down = True
            dropped, self._open = self._open, []
        for s in dropped:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()

    def up(self) -> None:
        with self._lock:
            self._down = False

    def close(self) -> None:
        self._closed = True
        self.down()
        self._server.close()


__all__ = [
    "ALERTS",
    "TcpProxy",
    "bad_log_lines",
    "need",
    "promtool_alerts",
    "registry_samples",
    "samples",
    "value",
]
