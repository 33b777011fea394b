"""Run every table script in order at one scale (each in its own process).

    python benchmarks/run_all.py --scale full    # about 5 hours on 2 CPU cores (most of it table 1's GAN)
    python benchmarks/run_all.py --scale smoke   # a few minutes

Options after ``--scale`` (``--seed``, ``--out``, ``--no-reuse``) are passed to every
script; each keeps its own working folder (``benchmarks/work/<table>``).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SCRIPTS = ("table1_mfmnist.py", "table2_scenes.py", "table3_label.py", "table4_representation.py",
           "table5_two_stream.py", "table6_context.py")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("smoke", "full"), required=True)
    parser.add_argument("--only", nargs="*", default=None, help="run only these tables (e.g. table1 table3)")
    args, passthrough = parser.parse_known_args()
    failed = []
    for script in SCRIPTS:
        if args.only and not any(script.startswith(name) for name in args.only):
            continue
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(HERE / script), "--scale", args.scale, *passthrough])
        print(f"{script}: exit {code} after {(time.perf_counter() - started) / 60:.1f} min", file=sys.stderr)
        if code != 0:
            failed.append(script)
    if failed:
        sys.exit(f"failed: {', '.join(failed)}")


if __name__ == "__main__":
    main()
