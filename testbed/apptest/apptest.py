"""Run the application tests (scripts/apptest calls this with the test venv's python).

python apptest.py --root <repo> [--only PREFIX]... [--keep] [--user panda-apptest]
Prints one line per test with its time, then "N passed, N failed"; exit 1 on any failure.
"""
import argparse
import os
import pwd
import signal
import sys
import time
import traceback

import suite


def main(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--root", required=True)
    parser.add_argument("--secrets", default="secrets/ci/test-values.yaml")
    parser.add_argument("--user", default="panda-apptest")
    parser.add_argument("--only", action="append", help="run only tests whose name starts with this")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args(argv)
    if os.getuid() == 0:
        pwd.getpwnam(args.user)  # fails early with KeyError when the user is missing
    import t_activemq, t_databases, t_panda, t_idds, t_harvester, t_health, t_bigmon, t_contracts, t_migrate, t_upgrade  # noqa: F401,E401
    # TERM/INT unwind through the finally below, which stops every server this run started
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    ctx = suite.Context(args.root, os.path.join(args.root, args.secrets), args.user, args.keep)
    passed = failed = 0
    started = time.time()
    try:
        for name, fn in suite.TESTS:
            if args.only and not any(name.startswith(o) for o in args.only):
                continue
            t0 = time.time()
            try:
                note = fn(ctx)
                passed += 1
                print("ok    %6.1fs  %s%s" % (time.time() - t0, name, ("  -- " + note) if note else ""), flush=True)
            except Exception as exc:  # noqa: BLE001
                failed += 1
                print("FAIL  %6.1fs  %s: %s" % (time.time() - t0, name, exc), flush=True)
                if not isinstance(exc, suite.Failure):
                    traceback.print_exc()
    finally:
        ctx.close()
    for note in ctx.notes:
        print("note: " + note)
    print("apptest: %.1fs in all (work dir %s)" % (time.time() - started, ctx.base if args.keep else "removed"))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
