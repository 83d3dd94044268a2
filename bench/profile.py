"""Profile one gunicorn worker under wrk load with py-spy (``pip install py-spy``; not a dependency).

    .venv/bin/python bench/profile.py cc_rs256            # or cc_es256, introspect
    .venv/bin/python bench/profile.py introspect --format speedscope --seconds 15

Same setup as bench/run.py (fresh PostgreSQL database, real CLI, gunicorn), but with one
sync worker so every sample is from the process under load. Writes bench/results/profile-*.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import DEFAULT_DATABASE, LUA_POST, ROOT, BenchDeployment, basic  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["cc_rs256", "cc_es256", "introspect"])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--format", default="raw", choices=["raw", "flamegraph", "speedscope"])
    parser.add_argument("--config", default=None, help="gunicorn config file")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE)
    parser.add_argument("--gil", action="store_true",
                        help="sample only the thread holding the GIL: where Python spends CPU, not where it waits")
    opts = parser.parse_args()
    py_spy = Path(sys.executable).with_name("py-spy")

    dep = BenchDeployment(opts.database_url)
    wrk = None
    try:
        alg = ["--signing-alg", "ES256"] if opts.scenario == "cc_es256" else []
        client = dep.create_client("profile", "--grant-type", "client_credentials", "--scope", "api",
                                   "--introspection", *alg)
        args = ["--workers", "1"] + (["--config", opts.config] if opts.config else [])
        dep.start(args)
        auth = basic(client["client_id"], client["client_secret"])
        if opts.scenario == "introspect":
            token = dep.post("/token/", {"grant_type": "client_credentials", "scope": "api"}, auth)["access_token"]
            path, body, expect = "/introspect/", "token=" + urllib.parse.quote(token, safe=""), '"active": true'
        else:
            path, body, expect = "/token/", "grant_type=client_credentials&scope=api", '"access_token"'
        script = Path(dep.tmp.name) / "load.lua"
        script.write_text(LUA_POST.format(title=opts.scenario, path=path, body=body, basic=auth, expect=expect))
        wrk = subprocess.Popen(
            ["wrk", "-t1", "-c4", f"-d{opts.seconds + 5}s", "-s", str(script), dep.url + path],
            stdout=subprocess.PIPE, text=True,
        )
        time.sleep(2)
        (pid,) = dep.worker_pids()
        out_dir = ROOT / "bench" / "results"
        out_dir.mkdir(parents=True, exist_ok=True)
        ext = {"raw": "txt", "flamegraph": "svg", "speedscope": "json"}[opts.format]
        out = out_dir / f"profile-{opts.scenario}.{ext}"
        subprocess.run([str(py_spy), "record", "--pid", str(pid), "--duration", str(opts.seconds),
                        "--format", opts.format, "--output", str(out), "--nonblocking",
                        *(["--gil"] if opts.gil else [])], check=True)
        print(f"wrote {out.relative_to(ROOT)}")
        print(wrk.communicate(timeout=60)[0])
    finally:
        if wrk is not None and wrk.poll() is None:
            wrk.terminate()
            wrk.wait()
        dep.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
