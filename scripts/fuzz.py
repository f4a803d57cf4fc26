"""Schemathesis against the local stack: start it on free ports, run `st run` on its
OpenAPI document with every check, stop it. Exit status: schemathesis' (non-zero on any
5xx, schema violation or other failed check).

    python scripts/fuzz.py smoke   # bounded, part of `make test`
    python scripts/fuzz.py long    # `make fuzz`: thousands of cases, at most 10 minutes

Every check of schemathesis is on (its default; `--checks all` would override the
per-operation settings). The checks' exceptions (where the document cannot state what
the server checks) are in schemathesis.toml, each with its reason.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from flow_manager_local.launch import start_local_stack

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261202  # fixed: a failure reproduces with the same command

PROFILES: dict[str, list[str]] = {
    # A few hundred cases: every operation's examples, 20 generated requests each
    # (valid and invalid), a few stateful sequences.
    "smoke": ["--max-examples", "20", "--phases", "examples,fuzzing,stateful"],
    # Thousands of cases within 10 minutes: also the coverage phase (boundaries, wrong
    # types, missing parameters, unsupported methods for every operation).
    "long": ["--max-examples", "300", "--max-time", "540"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", choices=sorted(PROFILES))
    args = parser.parse_args()
    st = Path(sys.executable).with_name("st")
    with tempfile.TemporaryDirectory(prefix="fuzz-") as temporary:
        stack = start_local_stack(Path(temporary) / "serve.log")
        try:
            command = [
                str(st),
                "run",
                f"{stack.url}/docs?format=json",
                "--seed",
                str(SEED),
                "--workers",
                "2",
                "--generation-database",
                "none",
                "--request-timeout",
                "35",  # the gateway answers 504 after 29 s
                "--no-color",
                *PROFILES[args.profile],
            ]
            print("$", " ".join(command), flush=True)
            return subprocess.run(command, cwd=ROOT, check=False).returncode
        finally:
            stack.interrupt()


if __name__ == "__main__":
    sys.exit(main())
