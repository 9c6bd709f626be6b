// .ci/pyodide's driver: node pyodide.mjs NODE_PREFIX CHECKOUT
// Loads Pyodide from NODE_PREFIX/node_modules/pyodide, mounts CHECKOUT at /repo and runs
// .ci/pyodide_tiny.py there; a Python exception makes node exit non-zero.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, checkout] = process.argv.slice(2);
const { loadPyodide } = await import(pathToFileURL(join(prefix, "node_modules", "pyodide", "pyodide.mjs")).href);
const pyodide = await loadPyodide();
pyodide.FS.mkdirTree("/repo");
pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: checkout }, "/repo");
pyodide.setStdout({ batched: (line) => console.log(line) });
pyodide.setStderr({ batched: (line) => console.error(line) });
pyodide.runPython(readFileSync(join(checkout, ".ci", "pyodide_tiny.py"), "utf8"), { filename: "pyodide_tiny.py" });
