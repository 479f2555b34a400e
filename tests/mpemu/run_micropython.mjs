// Runs the Python program on standard input in MicroPython 1.27 (its WebAssembly port, from
// npm: @micropython/micropython-webassembly-pyscript) and prints what it prints, as the
// unix port would: an uncaught exception's traceback goes to standard output too.
import { loadMicroPython } from "@micropython/micropython-webassembly-pyscript/micropython.mjs";
import fs from "fs";

const code = fs.readFileSync(0, "utf8");
const mp = await loadMicroPython({
  stdout: (line) => process.stdout.write(line + "\n"),
  stderr: (line) => process.stderr.write(line + "\n"),
});
try {
  mp.runPython(code);
} catch (e) {
  process.stdout.write(e.message + "\n");
  process.exitCode = 1;
}
