"""`make memory`: the server's memory while a 500 MB import is uploaded and a 500 MB export downloaded.

Serves a fresh store as `ticketd serve` does, samples the server's resident memory (VmRSS) every
20 ms, and prints its growth over the idle server during each transfer. Both transfers stream:
the server should hold a megabyte or so of either at a time, whatever the file's size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2

from ticketd.core import identity
from ticketd.core.principal import ALL_SCOPES, Role
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.migrate import upgrade

MEGABYTE = 1 << 20
SIZE = int(os.environ.get("MEMORY_FILE_MB", "500")) * MEGABYTE
# Rows as wide as an export writes them back: a 480-character subject, so the export of these
# tickets is about as large as the upload.
ROW = b"%09d " + b"s" * 470 + b",normal,open\n"


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


class Sampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak = 0.0
        self.running = True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.02)

    def stop(self) -> float:
        self.running = False
        self.join()
        return self.peak


def csv_upload() -> Iterator[bytes]:
    yield b"subject,priority,status\n"
    sent, number = 0, 0
    while sent < SIZE:
        chunk = b"".join(ROW % (number + n) for n in range(2000))
        number += 2000
        sent += len(chunk)
        yield chunk


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="ticketd-memory-"))
    settings = Settings(database_path=workdir / "memory.sqlite3")
    engine = build_engine(settings)
    upgrade(engine)
    with unit_of_work(session_factory(engine), write=True) as db:
        tenant = identity.create_tenant(db, slug="memory", name="Memory")
        user = identity.create_user(db, tenant=tenant, username="admin", role=Role.ADMIN, password=None)
        issued = identity.create_api_key(db, user=user, name="memory", scopes=frozenset(ALL_SCOPES))
        auth = (issued.key.id, issued.secret)
        db.commit()
    engine.dispose()
    port = 18_000 + os.getpid() % 1000
    env = {
        **os.environ,
        "TICKETD_DATABASE_PATH": str(settings.database_path),
        "TICKETD_PORT": str(port),
        "TICKETD_MAX_UPLOAD_BYTES": str(SIZE + 64 * MEGABYTE),
        # Quotas no run reaches: limits are on, as users run it.
        "TICKETD_LIMIT_CREDENTIAL": "100000/minute",
    }
    server = subprocess.Popen([sys.executable, "-m", "ticketd", "serve"], env=env, stdout=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/api/v1"
    try:
        for _ in range(300):
            if server.poll() is not None:
                raise RuntimeError("ticketd serve exited")
            try:
                if httpx2.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            except httpx2.TransportError:
                time.sleep(0.1)
        idle = rss_mb(server.pid)
        with httpx2.Client(timeout=600, auth=auth) as client:
            sampler = Sampler(server.pid)
            sampler.start()
            started = time.perf_counter()
            response = client.post(
                f"{base}/operations/imports", content=csv_upload(), headers={"Content-Type": "text/csv"}
            )
            upload_seconds = time.perf_counter() - started
            upload_peak = sampler.stop()
            assert response.status_code == 202, response.text
            location = response.headers["operation-location"]
            while client.get(location).json()["status"] not in ("completed", "failed"):
                time.sleep(1)
            imported = client.get(location).json()
            export = client.post(f"{base}/operations/exports", json={"format": "csv"})
            location = export.headers["operation-location"]
            while client.get(location).json()["status"] not in ("completed", "failed"):
                time.sleep(1)
            before_download = rss_mb(server.pid)
            sampler = Sampler(server.pid)
            sampler.start()
            downloaded = 0
            started = time.perf_counter()
            with client.stream("GET", f"{location}/file") as file:
                for chunk in file.iter_bytes():
                    downloaded += len(chunk)
            download_seconds = time.perf_counter() - started
            download_peak = sampler.stop()
        print(f"idle server: {idle:.1f} MB")
        print(
            f"upload of {SIZE / MEGABYTE:.0f} MB in {upload_seconds:.1f} s: peak {upload_peak:.1f} MB, "
            f"growth {upload_peak - idle:.1f} MB ({imported['result']['imported']:,} rows imported)"
        )
        print(
            f"download of {downloaded / MEGABYTE:.0f} MB in {download_seconds:.1f} s: "
            f"peak {download_peak:.1f} MB, "
            f"growth {download_peak - before_download:.1f} MB over the server before it "
            f"({before_download:.1f} MB), {download_peak - idle:.1f} MB over the idle server"
        )
    finally:
        server.terminate()
        server.wait(30)
        for path in workdir.iterdir():
            path.unlink()
        workdir.rmdir()


if __name__ == "__main__":
    main()
