"""`make memory`: the server's memory while a 500 MB import is uploaded and a 500 MB export
downloaded, and while a 100 MB attachment is uploaded (as the body, and as a browser's form) and
downloaded (whole, and a range of it).

Serves a fresh store as `ticketd serve` does, samples the server's resident memory (VmRSS) every
20 ms, and prints its growth during each transfer. Every transfer streams: the server should hold
a megabyte or so of a file at a time, whatever its size.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx2

from ticketd.core import identity
from ticketd.core.principal import ALL_SCOPES, Role
from ticketd.settings import Settings
from ticketd.store.engine import build_engine, session_factory, unit_of_work
from ticketd.store.migrate import upgrade

MEGABYTE = 1 << 20
SIZE = int(os.environ.get("MEMORY_FILE_MB", "500")) * MEGABYTE
ATTACHMENT = int(os.environ.get("MEMORY_ATTACHMENT_MB", "100")) * MEGABYTE
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
        "TICKETD_MAX_ATTACHMENT_BYTES": str(ATTACHMENT + MEGABYTE),
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
        print(f"idle server: {idle:.1f} MB")
        # The attachment first, on the idle server: what the import's run leaves in the allocator
        # could otherwise hide a growth.
        with httpx2.Client(timeout=600, auth=auth) as client:
            measure_attachment(client, base, server.pid, workdir, idle)
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


def random_bytes(size: int) -> Iterator[bytes]:
    """Bytes no store could compress, a megabyte at a time."""
    sent = 0
    while sent < size:
        chunk = os.urandom(min(MEGABYTE, size - sent))
        sent += len(chunk)
        yield chunk


def measure_attachment(client: httpx2.Client, base: str, pid: int, workdir: Path, idle: float) -> None:
    ticket = client.post(f"{base}/tickets", json={"subject": "a large file"}).json()["id"]
    on_disk = workdir / "attachment.bin"
    with on_disk.open("wb") as sink:
        for chunk in random_bytes(ATTACHMENT):
            sink.write(chunk)
    label = f"{ATTACHMENT / MEGABYTE:.0f} MB attachment"

    def watched(what: str, transfer: Callable[[], int]) -> None:
        before = rss_mb(pid)
        sampler = Sampler(pid)
        sampler.start()
        started = time.perf_counter()
        moved = transfer()
        seconds = time.perf_counter() - started
        peak = sampler.stop()
        print(
            f"{label}, {what}: {moved / MEGABYTE:.0f} MB in {seconds:.1f} s, peak {peak:.1f} MB, "
            f"growth {peak - before:.1f} MB over the server before it ({before:.1f} MB), "
            f"{peak - idle:.1f} MB over the idle server"
        )

    created: dict[str, int] = {}

    def as_body() -> int:
        response = client.post(
            f"{base}/tickets/{ticket}/attachments",
            content=random_bytes(ATTACHMENT),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Disposition": 'attachment; filename="a.bin"',
            },
        )
        assert response.status_code == 201, response.text
        created["body"] = response.json()["id"]
        return ATTACHMENT

    def as_form() -> int:
        with on_disk.open("rb") as file:
            response = client.post(f"{base}/tickets/{ticket}/attachments", files={"file": ("b.bin", file)})
        assert response.status_code == 201, response.text
        created["form"] = response.json()["id"]
        return ATTACHMENT

    def download(headers: dict[str, str]) -> Callable[[], int]:
        def run() -> int:
            received = 0
            with client.stream(
                "GET", f"{base}/attachments/{created['form']}/content", headers=headers
            ) as file:
                assert file.status_code in (200, 206), file.status_code
                for chunk in file.iter_bytes():
                    received += len(chunk)
            return received

        return run

    watched("uploaded as the body", as_body)
    watched("uploaded as a form", as_form)
    watched("downloaded", download({}))
    watched("its second half downloaded (Range)", download({"Range": f"bytes={ATTACHMENT // 2}-"}))


if __name__ == "__main__":
    main()
