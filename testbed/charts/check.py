#!/usr/bin/env python3
"""Chart-side checks of panda-install (run by scripts/check-charts).

usage: check.py [-k SUBSTRING]...   run every check (or those whose name contains a SUBSTRING)

Each check renders the charts with real helm 4 and helm 3 (see render.py) and asserts something that
a broken chart would get wrong; a missing helm is a failure, never a skip. Prints one line per check
and exits 1 when any fails.
"""
import argparse
import sys
import time

import render

def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-k", action="append", default=[], help="run only checks whose name contains this")
    args = parser.parse_args(argv)
    # The check modules register themselves on import.
    import checks_experiment  # noqa: F401
    import checks_sitefiles  # noqa: F401
    import checks_ui  # noqa: F401
    import checks_backup  # noqa: F401
    import checks_images  # noqa: F401
    import checks_versions  # noqa: F401
    import checks_security  # noqa: F401
    import checks_render  # noqa: F401
    import checks_movein  # noqa: F401
    import checks_secrets  # noqa: F401
    import checks_netpol_settings  # noqa: F401
    import checks_health  # noqa: F401
    try:
        helm4, helm3 = render.helm_binaries()
        render.dependency_build(helm4)
    except render.Failure as e:
        print(f"check-charts: {e}", file=sys.stderr)
        return 1
    selected = [c for c in render.CHECKS if not args.k or any(k in c.__name__ for k in args.k)]
    failed = 0
    for fn in selected:
        start = time.monotonic()
        try:
            fn(helm4, helm3)
        except Exception as e:  # noqa: BLE001 - any exception fails the check, with its message
            failed += 1
            detail = str(e) if isinstance(e, (render.Failure, AssertionError)) else f"{type(e).__name__}: {e}"
            print(f"FAIL {fn.__name__} ({time.monotonic() - start:.1f} s)\n    " + detail.replace("\n", "\n    "))
        else:
            print(f"ok   {fn.__name__} ({time.monotonic() - start:.1f} s)")
    print(f"check-charts: {len(selected) - failed} of {len(selected)} checks passed")
    return 1 if failed or not selected else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
