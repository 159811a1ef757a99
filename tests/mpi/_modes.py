"""The loop an MPI test script ends with: run each mode named on the command line, print ``MODE ok``
or ``MODE FAIL`` (with the traceback) per rank; ``--abort`` lets a failure end the job instead."""
import sys
import traceback


def run_modes(modes: dict, r: int, n: int) -> None:
    for mode in sys.argv[1:]:
        if mode.startswith("--"):
            continue
        try:
            modes[mode]()
            print(f"{mode} ok {r}/{n}", flush=True)
        except Exception as e:
            print(f"{mode} FAIL {r}/{n}: {type(e).__name__}: {e}", flush=True)
            traceback.print_exc()
            if "--abort" in sys.argv:
                raise
