"""The sandbox's SFTP mailbox with OpenSSH's own client (`sftp -b`, /usr/bin/sftp): what we
serve with asyncssh is what real clients speak. The generated client key logs in with the
host key pinned in a known_hosts file; a file put into to/ is answered in from/, which the
client lists and downloads; a wrong key is refused, a wrongly pinned host key is refused by
the client, and `../` cannot leave the user's folder.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import uuid
from pathlib import Path

import asyncssh
import httpx
import pytest

from deploy.payer_sandbox.keys import ensure_dev_keys, known_hosts_line
from deploy.payer_sandbox.mailbox import MailboxUser
from deploy.payer_sandbox.testing import ProcessHandle, SandboxHandle, running_sandbox, sandbox_process
from tests.sandbox.helpers import open_sftp
from tests.sandbox.test_files import Answers, build_837

SFTP = shutil.which("sftp") or "/usr/bin/sftp"


async def sftp(
    sandbox: SandboxHandle | ProcessHandle,
    batch: str,
    tmp: Path,
    *,
    key: Path | None = None,
    known_hosts: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `sftp -b` against the sandbox with only the given key and pinned host key."""
    assert sandbox.sftp_port and sandbox.client_key_path and sandbox.user
    batch_file = tmp / f"batch-{uuid.uuid4().hex[:6]}"
    batch_file.write_text(batch)
    pinned = tmp / f"known_hosts-{uuid.uuid4().hex[:6]}"
    pinned.write_text(known_hosts if known_hosts is not None else sandbox.known_hosts())
    command = [
        SFTP, "-F", "/dev/null", "-b", str(batch_file), "-P", str(sandbox.sftp_port),
        "-i", str(key or sandbox.client_key_path),
        "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={pinned}", "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "PasswordAuthentication=no", "-o", "ConnectTimeout=20",
        f"{sandbox.user}@127.0.0.1",
    ]  # fmt: skip
    return await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    return tmp_path


async def test_openssh_client_uploads_lists_and_downloads(tmp: Path) -> None:
    assert shutil.which(SFTP), "OpenSSH's sftp client is installed (openssh-client)"
    claims = tmp / "claims.x12"
    prefix = "O" + uuid.uuid4().hex[:8].upper()
    claims.write_text(build_837([f"{prefix}1", f"{prefix}2"], 4001))
    async with running_sandbox(mailbox=True) as sandbox:
        assert sandbox.root is not None
        answers = Answers(sandbox.root)
        put = await sftp(sandbox, f"put {claims} /to/claims.x12\n", tmp)
        assert put.returncode == 0, put.stderr
        await answers.wait(lambda a: bool(a.kind("999")) and bool(a.kind("277CA")))
        names = sorted(answers.all())
        listing = await sftp(sandbox, "ls -1 /from\n", tmp)
        assert listing.returncode == 0, listing.stderr
        assert all(name in listing.stdout for name in names)
        got = tmp / "got"
        got.mkdir()
        download = await sftp(sandbox, "".join(f"get /from/{name} {got / name}\n" for name in names), tmp)
        assert download.returncode == 0, download.stderr
    for name in names:
        assert (got / name).read_bytes() == (sandbox.root / "from" / name).read_bytes()
    assert all(n.startswith("SBX_") and n.endswith(".x12") for n in names)


async def test_wrong_key_wrong_host_key_and_leaving_the_folder_are_refused(tmp: Path) -> None:
    stranger = tmp / "stranger"
    other = ensure_dev_keys(stranger)  # another client key and another host key
    async with running_sandbox(mailbox=True) as sandbox:
        assert sandbox.sftp_port is not None
        wrong_key = await sftp(sandbox, "ls /\n", tmp, key=other.client_key)
        assert wrong_key.returncode != 0 and "Permission denied" in wrong_key.stderr
        impostor = known_hosts_line(other.host_public_key, port=sandbox.sftp_port)
        wrong_host = await sftp(sandbox, "ls /\n", tmp, known_hosts=impostor)
        assert wrong_host.returncode != 0 and "Host key verification failed" in wrong_host.stderr
        home = await sftp(sandbox, "ls -1 /\n", tmp)
        assert home.returncode == 0, home.stderr
        assert listed(home.stdout) == {"from", "to"}, "the user sees its own folder as /"
        for escape in ("ls -1 ../\n", "ls -1 /../..\n", "cd ..\nls -1\n", f"get ../{sandbox.user}/to x\n"):
            refused = await sftp(sandbox, escape, tmp)
            assert refused.returncode != 0, escape
            # OpenSSH's client words a refused glob as "not found", a refused cd/get as denied.
            assert "denied" in refused.stderr.lower() or "not found" in refused.stderr, refused.stderr
            assert sandbox.user not in listed(refused.stdout), "the folder above the chroot is never listed"
        # What the server answers (asyncssh's client shows the SFTP status): permission denied.
        async with open_sftp(sandbox) as client:
            for path in ("/..", "../..", f"/to/../../{sandbox.user}"):
                with pytest.raises(asyncssh.SFTPPermissionDenied):
                    await client.listdir(path)


def listed(stdout: str) -> set[str]:
    """Names an `ls -1` printed (not the echoed batch commands)."""
    return {
        line.strip().rsplit("/", 1)[-1]
        for line in stdout.splitlines()
        if line.strip() and not line.startswith("sftp>")
    }


async def test_throttled_transfers_are_listed_and_an_open_upload_is_not_taken(tmp: Path) -> None:
    """The crash tests' hooks, on the sandbox as its own process: with per-request delays an
    upload and a download stay open long enough to be seen in GET /mailbox/transfers (path,
    mode, bytes so far), and the file desk leaves a file alone while it is still being written
    under its final name."""
    prefix = "S" + uuid.uuid4().hex[:8].upper()
    text = build_837([f"{prefix}{n}" for n in range(1, 4)], 5001)
    chunks = [text[i : i + 512] for i in range(0, len(text), 512)]
    env: dict[str, str] = {}
    async with (
        sandbox_process(env, mailbox=True, sftp_read_delay_ms=150, sftp_write_delay_ms=150) as sandbox,
        httpx.AsyncClient(base_url=sandbox.base_url, timeout=10) as http,
    ):
        assert sandbox.root is not None
        async with open_sftp(sandbox) as client:
            async with client.open("/to/claims.x12", "w") as f:
                await f.write(chunks[0])
                (open_file,) = (await http.get("/mailbox/transfers")).json()["transfers"]
                assert open_file == {"user": sandbox.user, "path": "/to/claims.x12", "mode": "write",
                                     "bytes": len(chunks[0])}  # fmt: skip
                await f.write(chunks[1])
                stats = (await http.get("/stats")).json()["claims"]
                assert stats.get("files_received", 0) == 0, "a file open for writing is not taken"
                for chunk in chunks[2:]:
                    await f.write(chunk)
            assert (await http.get("/mailbox/transfers")).json()["transfers"] == []
            answers = Answers(sandbox.root)
            await answers.wait(lambda a: bool(a.kind("277CA")))
            (name,) = [n for n in answers.all() if n.endswith("_277CA.x12")]
            async with client.open(f"/from/{name}", "r", block_size=256) as f:
                first = await f.read(256)
                (reading,) = (await http.get("/mailbox/transfers")).json()["transfers"]
                rest = await f.read()
        assert reading == {"user": sandbox.user, "path": f"/from/{name}", "mode": "read", "bytes": 256}
        assert first + rest == answers.all()[name]
        assert (await http.get("/stats")).json()["claims"]["files_received"] == 1


async def test_password_users_and_both_renames(tmp: Path) -> None:
    """A user with a password instead of a key (wrong password refused); plain SFTP rename
    refuses to replace an existing file, posix-rename@openssh.com replaces it."""
    async with running_sandbox(mailbox=True) as sandbox:
        mailbox = sandbox.app.state.files.mailbox
        secret = uuid.uuid4().hex
        mailbox.add_user(MailboxUser(f"pw{uuid.uuid4().hex[:8]}", password=secret, usage="P"))
        user = next(name for name, u in mailbox.users.items() if u.password == secret)
        known = asyncssh.import_known_hosts(sandbox.known_hosts())
        with pytest.raises(asyncssh.PermissionDenied):
            await asyncssh.connect(
                "127.0.0.1", sandbox.sftp_port, username=user, password="wrong", known_hosts=known,
                client_keys=None,
            )  # fmt: skip
        async with (
            asyncssh.connect(
                "127.0.0.1",
                sandbox.sftp_port,
                username=user,
                password=secret,
                known_hosts=known,
                client_keys=None,
            ) as conn,
            conn.start_sftp_client() as client,
        ):
            for name, body in (("a", "first"), ("b", "second"), ("c", "third")):
                async with client.open(f"/from/{name}.txt", "w") as f:
                    await f.write(body)
            with pytest.raises(asyncssh.SFTPFailure):
                await client.rename("/from/a.txt", "/from/b.txt")
            await client.posix_rename("/from/c.txt", "/from/b.txt")
            async with client.open("/from/b.txt") as f:
                assert await f.read() == "third"
            assert sorted(await client.listdir("/from")) == [".", "..", "a.txt", "b.txt"]
