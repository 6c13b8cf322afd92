"""``ledger serve --workers 2`` exposes one ``/metrics`` for all its workers: requests answered
by either worker are counted in every scrape, whichever worker answers it. The workers'
metric files live in a directory of this run, removed when the server stops."""

import tempfile
from pathlib import Path

import httpx

from tests.e2e.cli_support import Store, isolated_env, sqlite_store
from tests.e2e.services_support import service_env, start_api, stop_all
from tests.e2e.sim_support import wait_until
from tests.ops_support import samples

__all__ = ["isolated_env", "sqlite_store"]  # fixtures used here


def metric_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("ledger-metrics-*"))


def healthz_count(url: str) -> float:
    found = samples(httpx.get(f"{url}/metrics", timeout=10).text)
    labels = frozenset({"method": "GET", "route": "/healthz", "status": "200"}.items())
    return found.get(("ledger_http_requests_total", labels), 0.0)


def test_one_metrics_endpoint_sums_every_worker(sqlite_store: Store, tmp_path: Path) -> None:
    before = metric_dirs()
    api, url = start_api(service_env(sqlite_store), tmp_path, workers=2)
    try:
        [run_dir] = metric_dirs() - before
        sent = healthz_count(url)  # start_api's own probes

        def both_workers_counted() -> bool:
            nonlocal sent
            for _ in range(10):  # a new connection each: the kernel spreads them
                assert httpx.get(f"{url}/healthz", timeout=10).status_code == 200
                sent += 1
            pids = {p.stem.rsplit("_", 1)[-1] for p in run_dir.glob("counter_*.db")}
            return len(pids) >= 2

        wait_until(both_workers_counted, what="both workers to answer", within=60)
        for _ in range(6):  # whichever worker answers the scrape shows every request
            assert healthz_count(url) == sent
    finally:
        codes = stop_all([api])
    assert codes == {"api": 0}
    assert not run_dir.exists()
    assert "_created" not in api.text()
