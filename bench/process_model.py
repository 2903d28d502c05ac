"""Figures behind docs/process-model.md: how long Dagster work takes to start here, and how fast leases free.

    .venv/bin/python bench/process_model.py

Prints one table. Each figure is the median of a few tries, in a fresh DAGSTER_HOME under a temp dir.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRIES = 3

TRIVIAL_JOB = """
from dagster import Definitions, in_process_executor, job, multiprocess_executor, op

@op
def one() -> int:
    return 1

@job(executor_def=in_process_executor)
def trivial_in_process():
    one()

@job(executor_def=multiprocess_executor)
def trivial_multiprocess():
    one()

defs = Definitions(jobs=[trivial_in_process, trivial_multiprocess])
"""


CLI_RUN = """
from sonet_pipeline.jobs.cli_runs import execute_job, prepare_instance
from trivial_defs import trivial_in_process
assert execute_job(trivial_in_process, prepare_instance()).success
"""


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def median_of(command: list[str], env: dict[str, str], cwd: Path) -> float:
    return statistics.median(timed(command, env, cwd) for _ in range(TRIES))


def lease_free_after_kill(kind: str, target: str) -> float:
    """Seconds from SIGKILL of a lease holder until another process holds the lease."""
    make = {
        "file": f"FileLease(Path({target!r}), 'bench')",
        "postgres": f"PostgresLease({target!r}, 'bench-kill')",
    }[kind]
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import time
                from pathlib import Path
                from sonet_pipeline.common.leases import FileLease, PostgresLease
                lease = {make}
                assert lease.try_acquire("bench holder")
                print("held", flush=True)
                time.sleep(600)
                """
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    from sonet_pipeline.common.leases import FileLease, PostgresLease

    lease = FileLease(Path(target), "bench") if kind == "file" else PostgresLease(target, "bench-kill")
    holder.send_signal(signal.SIGKILL)
    killed = time.perf_counter()
    holder.wait()
    while not lease.try_acquire("bench taker"):
        time.sleep(0.01)
    freed = time.perf_counter() - killed
    lease.release()
    return freed


def main() -> None:
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "trivial_defs.py").write_text(TRIVIAL_JOB)
        env = {**os.environ, "DAGSTER_HOME": str(work / "home"), "SONET_PIPELINE_DATA_DIR": str(work / "data")}
        env["PYTHONPATH"] = os.pathsep.join([str(work), str(REPO)])

        def seconds(name: str, *command: str) -> None:
            rows.append((name, f"{median_of([sys.executable, *command], env, work):.2f} s"))

        seconds("python -c 'import dagster'", "-c", "import dagster")
        seconds("import sonet_pipeline.definitions", "-c", "import sonet_pipeline.definitions")
        seconds("CLI run: new process, execute_in_process, SQLite instance", "-c", CLI_RUN)
        for job in ("in_process", "multiprocess"):
            seconds(f"`dagster job execute` ({job} executor)", "-m", "dagster", "job", "execute", "-m", "trivial_defs",
                    "-j", f"trivial_{job}")  # fmt: skip

        freed = lease_free_after_kill("file", str(work))
        rows.append(("file lease free after SIGKILL of its holder", f"{freed * 1000:.0f} ms"))
        dsn = os.environ.get("SONET_TEST_POSTGRES_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
        try:
            figure = f"{lease_free_after_kill('postgres', dsn) * 1000:.0f} ms"
        except Exception as exc:  # the figure is optional where no server runs
            figure = f"n/a ({type(exc).__name__})"
        rows.append(("PostgreSQL lease free after SIGKILL of its holder", figure))

    width = max(len(name) for name, _ in rows)
    print(f"{'what':<{width}}  figure (median of {TRIES} where timed)")
    for name, figure in rows:
        print(f"{name:<{width}}  {figure}")


if __name__ == "__main__":
    main()
