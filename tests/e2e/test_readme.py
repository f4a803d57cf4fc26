"""The README's walkthrough and CLI section, run as written against a started stack.

The commands are read from README.md at test time (no copy here), so the README
cannot drift from what the service does. Only the base URL is replaced: the stack
under test listens on a free port, not on 3000; `<execution_id>` is the id the
previous command answered.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from flow_manager_local.client import ApiClient
from tests.e2e.support import ROOT, local_only, wait_for_end

README = (ROOT / "README.md").read_text(encoding="utf-8")
README_URL = "http://127.0.0.1:3000"
PLACEHOLDER = "<execution_id>"
COMMAND_DEADLINE_SECONDS = 180.0
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def section(title: str) -> str:
    """The README's text under `## <title>...` up to the next `## ` heading."""
    match = re.search(rf"^## {re.escape(title)}.*?$(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no section '## {title}'"
    return match.group(1)


def bash_blocks(text: str) -> list[tuple[str, str]]:
    """Each ```bash block with the prose that follows it (up to the next block)."""
    parts = re.split(r"^```bash\n(.*?)^```\n", text, flags=re.M | re.S)
    return [(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2)]


def shell(command: str, cwd: Path, endpoint: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{ROOT / '.venv' / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        "FLOW_MANAGER_URL": endpoint,
        "NO_COLOR": "1",
    }
    return subprocess.run(
        ["bash", "-c", command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_DEADLINE_SECONDS,
        check=False,
    )


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A directory that looks like the repository's root to the commands."""
    for name in ("events", "template.yaml", "functions"):
        (tmp_path / name).symlink_to(ROOT / name)
    return tmp_path


@pytest.fixture
def fresh_data_pipeline(api: ApiClient) -> None:
    api.delete("/flows/data_pipeline", query={"force": "true"})
    api.delete("/flows/etl_pipeline", query={"force": "true"})


@local_only
@pytest.mark.usefixtures("fresh_data_pipeline")
def test_the_curl_walkthrough_works_as_written(
    api: ApiClient, endpoint: str, checkout: Path
) -> None:
    blocks = bash_blocks(section("Walkthrough with curl"))
    assert len(blocks) >= 4, "the walkthrough lost its steps"
    execution_id: str | None = None
    for written, prose in blocks:
        command = written
        if PLACEHOLDER in command:
            assert execution_id, f"nothing answered an execution id before: {command}"
            wait_for_end(api, execution_id)
            command = command.replace(PLACEHOLDER, execution_id)
        # Given a command of the README / When it is run as written
        result = shell(command.replace(README_URL, endpoint), checkout, endpoint)
        # Then it succeeds and answers JSON that is not an error body
        assert result.returncode == 0, result.stderr
        answer: dict[str, Any] = json.loads(result.stdout)
        assert not isinstance(answer.get("error"), dict), f"{command}\n{answer}"
        if "execution_id" in answer and PLACEHOLDER not in written:
            execution_id = str(answer["execution_id"])
            claimed = re.search(r'ends `(\w+)` with `"failed_task": "(\w+)"`', prose)
            if claimed:  # the prose says how it ends: check it does
                report = wait_for_end(api, execution_id)
                assert (report["status"], report["failed_task"]) == claimed.groups()
    assert execution_id is not None


@local_only
@pytest.mark.usefixtures("fresh_data_pipeline")
def test_the_cli_section_works_as_written(endpoint: str, checkout: Path) -> None:
    blocks = bash_blocks(section("The `flow-manager` command"))
    assert blocks, "the CLI section lost its commands"
    commands = [line for line in blocks[0][0].splitlines() if line.strip()]
    execution_id: str | None = None
    for written in commands:
        command = written
        if PLACEHOLDER in command:
            assert execution_id, f"nothing printed an execution id before: {command}"
            command = command.replace(PLACEHOLDER, execution_id)
        # Given a command of the README / When it is run as written
        result = shell(command, checkout, endpoint)
        # Then it exits 0
        assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"
        found = UUID.search(result.stdout + result.stderr)
        if found and command.startswith("flow-manager run"):
            execution_id = found.group(0)
        if "> execution.json" in command:  # the JSON alone on stdout, so the file parses
            output = json.loads((checkout / "execution.json").read_text(encoding="utf-8"))
            assert output["status"] == "completed"
