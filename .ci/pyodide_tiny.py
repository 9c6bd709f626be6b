"""Run inside Pyodide (CPython compiled to WebAssembly) by .ci/pyodide: train the bundled `tiny`
with the app's defaults from the checkout mounted at /repo and compare with the published app's
own output (vectors/browser_app/, copied from shared/reference; see its PROVENANCE.md)."""
import json
import sys
import time

sys.dont_write_bytecode = True  # the checkout is mounted as it is: leave no __pycache__ in it
sys.path.insert(0, "/repo")

import stingerml  # noqa: E402
from stingerml._kernels import processes  # noqa: E402

APP = "/repo/vectors/browser_app/"
start = time.perf_counter()
r = stingerml.train("/repo/vectors/sessions/tiny.bin")
seconds = time.perf_counter() - start
ref = json.load(open(APP + "tiny.json"))
checks = {
    "ml_model_lr.bin": r.lr_blob == open(APP + "tiny.lr.mlmd", "rb").read(),
    "ml_model_mlp.bin": r.mlp_blob == open(APP + "tiny.mlp.mlmd", "rb").read(),
    "summary": r.summary == ref["summary"],
    "metrics": r.metrics == ref["metrics"],
    "loss histories": (r.lr_loss_history, r.mlp_loss_history) == (ref["lrLossHistory"], ref["mlpLossHistory"]),
}
print(f"Python {sys.version.split()[0]} on {sys.platform}, stingerml {stingerml.__version__}, backend "
      f"{stingerml.backend()}, MLP processes {processes()}: tiny trained in {seconds:.1f} s")
for name, same in checks.items():
    print(f"  {name}: {'same as the app' if same else 'DIFFERS from the app'}")
if not all(checks.values()):
    raise SystemExit("Pyodide: tiny is not the app's output")
