"""A fake kubectl for the tests of runs: no cluster needed. It records each call (arguments, stdin, environment,
working directory) as one JSON line in `calls.jsonl` beside it, and behaves as the file `mode` beside it says:

- absent or "ok": prints what it was asked and exits 0 (`config current-context` prints the context that the first
  file in KUBECONFIG sets, as kubectl does);
- "fail": prints an error on stderr and exits 3;
- "hang": prints "waiting" and never ends by itself;
- "flood N": prints N characters in lines of 100;
- "drip N S": prints N numbered lines, one every S seconds;
- "slow S": stays S seconds, and prints how many fake kubectls were running at once when it started (each marks
  itself running with a file in `running/` while it stays).

The test writes this file into a temporary directory with its Python as the interpreter (`install`).
"""

import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def current_context() -> str:
    for path in os.environ.get("KUBECONFIG", "").split(os.pathsep):
        try:
            for line in Path(path).read_text().splitlines():
                if line.startswith("current-context:"):
                    return line.split(":", 1)[1].strip().strip('"')
        except OSError:
            continue
    return ""


def main() -> int:
    args = sys.argv[1:]
    stdin = "" if sys.stdin is None or sys.stdin.isatty() else sys.stdin.read()
    with open(HERE / "calls.jsonl", "a") as calls:
        calls.write(
            json.dumps({"argv": args, "stdin": stdin, "env": dict(os.environ), "cwd": os.getcwd(), "pid": os.getpid()})
            + "\n"
        )
    mode = (HERE / "mode").read_text().split() if (HERE / "mode").exists() else ["ok"]
    if args[-2:] == ["config", "current-context"] or args == ["config", "current-context"]:
        print(current_context())
        return 0
    if mode[0] == "fail":
        print("error: the server doesn't have a resource type (fake kubectl told to fail)", file=sys.stderr)
        return 3
    if mode[0] == "hang":
        print("waiting", flush=True)
        while True:
            time.sleep(60)
    if mode[0] == "drip":
        for number in range(1, int(mode[1]) + 1):
            print(f"line {number} of {mode[1]}", flush=True)
            time.sleep(float(mode[2]))
        return 0
    if mode[0] == "slow":
        running = HERE / "running"
        running.mkdir(exist_ok=True)
        mine = running / str(os.getpid())
        mine.touch()
        print(f"running at once: {len(list(running.iterdir()))}", flush=True)
        time.sleep(float(mode[1]))
        mine.unlink()
        return 0
    if mode[0] == "flood":
        size = int(mode[1])
        line = "x" * 99 + "\n"
        sys.stdout.write(line * (size // 100) + "y" * (size % 100))
        return 0
    print(f"fake kubectl: {' '.join(args)}")
    if stdin:
        print(f"fake psql: {len(stdin.splitlines())} line(s) received")
    return 0


if __name__ == "__main__":
    sys.exit(main())
