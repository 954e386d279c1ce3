"""A private PostgreSQL cluster for tests: initdb + pg_ctl in a temporary directory on a free port."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def throwaway_cluster(base: Path, password: str | None = None, *, durable: bool = False) -> Iterator[str]:
    """A private PostgreSQL cluster (initdb + pg_ctl) on a free port; trust auth, or password auth
    (scram-sha-256) for the superuser `postgres` when `password` is given. Stopped after.

    Tests skip fsync (fast); `durable=True` keeps PostgreSQL's defaults, for benchmarks of writes."""
    data, sockets, port = base / "data", base / "sock", _free_port()
    sockets.mkdir()
    # initdb refuses to run as root; run the server as the postgres user then.
    prefix: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            raise RuntimeError("running as root and runuser is missing (initdb refuses root)")
        shutil.chown(base, "postgres")
        shutil.chown(sockets, "postgres")
        prefix = [runuser, "-u", "postgres", "--"]
    auth = ["--auth=trust"]
    if password is not None:
        pwfile = base / "pw"
        pwfile.write_text(password)
        if prefix:
            shutil.chown(pwfile, "postgres")
        auth = ["--auth=scram-sha-256", f"--pwfile={pwfile}"]
    subprocess.run(
        [*prefix, "initdb", "-D", str(data), "-U", "postgres", *auth, *([] if durable else ["--no-sync"])],
        check=True,
        capture_output=True,
    )
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1" + ("" if durable else " -c fsync=off")
    subprocess.run(
        [*prefix, "pg_ctl", "-D", str(data), "-o", options, "-l", str(base / "log"), "-w", "start"],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, "pg_ctl", "-D", str(data), "-m", "immediate", "stop"], capture_output=True)
