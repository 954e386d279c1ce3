"""deploy/ checked by the real tools: `systemd-analyze verify` for the units, `nginx -t` for the site."""

from __future__ import annotations

import datetime
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
INSTALLED_AT = "/home/groovy/groovy-zilean"  # where docs/deploy.md puts the checkout


def units_here(tmp_path: Path) -> list[Path]:
    """The unit files with the checkout's path swapped for this one, so ExecStart= exists."""
    out = []
    for unit in sorted((DEPLOY / "systemd").iterdir()):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace(INSTALLED_AT, str(ROOT)))
        out.append(copy)
    return out


def verify(units: list[Path]) -> subprocess.CompletedProcess[str]:
    tool = shutil.which("systemd-analyze")
    if tool is None:
        pytest.fail("systemd-analyze is missing: apt-get install systemd (.ci/run installs it)")
    return subprocess.run([tool, "verify", *map(str, units)], capture_output=True, text=True, timeout=120)


def test_systemd_units_verify_clean(tmp_path: Path) -> None:
    units = units_here(tmp_path)
    assert {unit.name for unit in units} >= {
        "groovy-bot.service", "groovy-web.service", "groovy-backup.service", "groovy-backup.timer",
    }  # fmt: skip
    result = verify(units)
    # verify exits 0 even for settings it ignores; any message at all is a problem.
    assert result.returncode == 0 and result.stdout + result.stderr == "", result.stderr


def test_systemd_verify_catches_a_broken_unit(tmp_path: Path) -> None:
    bot = next(unit for unit in units_here(tmp_path) if unit.name == "groovy-bot.service")
    bot.write_text(bot.read_text().replace("LimitRTPRIO=10", "LimitRTPRIO=ten"))
    result = verify([bot])
    assert "LimitRTPRIO" in result.stderr or "resource value" in result.stderr


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "groovy.example.org")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "fullchain.pem", tmp_path / "privkey.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def nginx_test(tmp_path: Path, site: str) -> subprocess.CompletedProcess[str]:
    """`nginx -t` of the site inside a minimal main config that writes only under tmp_path."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.fail("nginx is missing: apt-get install nginx-light (.ci/run installs it)")
    (tmp_path / "site.conf").write_text(site)
    temp = "".join(
        f"{kind}_temp_path {tmp_path / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\nevents {{}}\n"
        f"http {{\n{temp}access_log off;\ninclude {tmp_path / 'site.conf'};\n}}\n"
    )
    return subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def shipped_site(tmp_path: Path) -> str:
    cert, key = self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "groovy-zilean.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/groovy.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/groovy.example.org/privkey.pem", str(key))
    return site.replace(INSTALLED_AT, str(ROOT))


def test_nginx_site_passes_nginx_t(tmp_path: Path) -> None:
    result = nginx_test(tmp_path, shipped_site(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr and "test is successful" in result.stderr


def test_nginx_t_catches_a_broken_site(tmp_path: Path) -> None:
    broken = shipped_site(tmp_path).replace("proxy_buffering off;", "proxy_buffering off")
    result = nginx_test(tmp_path, broken)
    assert result.returncode != 0 and "test failed" in result.stderr


def test_the_units_run_what_exists_in_the_repo() -> None:
    """ExecStart= names deploy/backup_db.sh and .venv/bin/zilean relative to the checkout."""
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart="):
                program = line.removeprefix("ExecStart=").split()[0].replace(INSTALLED_AT, str(ROOT))
                assert program.endswith(("/.venv/bin/zilean", "/deploy/backup_db.sh")), line
                assert Path(program).exists(), line
