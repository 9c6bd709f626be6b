// Generates V8 Math.exp / Math.log / Math.cos / Math.pow outputs as exact hex bit patterns.
// Run: node gen_v8_math.js > v8_math.json   (was run with Node.js v20.20.2)
function bits(x) { const b = new DataView(new ArrayBuffer(8)); b.setFloat64(0, x); return b.getBigUint64(0).toString(16).padStart(16, "0"); }
let s = 123456789;  // xorshift32, so the arguments are reproducible
function rnd() { s ^= s << 13; s >>>= 0; s ^= s >>> 17; s ^= s << 5; s >>>= 0; return s / 4294967296; }
const out = { exp: [], log: [], cos: [] };
for (let i = 0; i < 20000; i++) {
  const a = rnd() * 40 - 20;            // sigmoid range
  out.exp.push([bits(a), bits(Math.exp(a))]);
  const b = rnd() || 1e-10;             // log of probabilities and of u1
  out.log.push([bits(b), bits(Math.log(b))]);
  const c = 2 * Math.PI * rnd();        // Box-Muller angle
  out.cos.push([bits(c), bits(Math.cos(c))]);
}
for (const x of [1e-7, 1 - 1e-7, 0.5, 1, 2, 1e-300, 5e-324]) out.log.push([bits(x), bits(Math.log(x))]);
for (const x of [0, -0, 1, -1, 20, -20, 709.7, -745.1, 1e-20, 0.34657359027997264]) out.exp.push([bits(x), bits(Math.exp(x))]);
for (const x of [0, Math.PI / 4, Math.PI / 2, Math.PI, 3 * Math.PI / 2, 2 * Math.PI - 1e-12, 1e-9]) out.cos.push([bits(x), bits(Math.cos(x))]);
// pow (Adam's bias corrections 1 - beta**t, and a spread of other arguments), drawn after the others
out.pow = [];
const pw = (x, y) => out.pow.push([bits(x), bits(y), bits(Math.pow(x, y))]);
for (let t = 1; t <= 2000; t++) { pw(0.9, t); pw(0.999, t); }
for (let i = 0; i < 4000; i++) {
  const x = [rnd() * 2, rnd() * 1e3, 1 / (rnd() * 1e6 + 1e-300), -rnd() * 10, 1 + (rnd() - 0.5) * 1e-6][i % 5];
  const y = [rnd() * 40 - 20, Math.floor(rnd() * 2000) - 1000, (rnd() - 0.5) * 2e9, Math.floor(rnd() * 64) / 2][(i >> 2) % 4];
  pw(x, y);
}
const special = [0, -0, 1, -1, 2, -2, 0.5, -0.5, 3, -3, 1e-310, 1e308, Infinity, -Infinity, NaN, 2 ** 31 + 1, 2 ** 64 + 2 ** 12, 1 - 2 ** -30];
for (const x of special) for (const y of special) pw(x, y);
console.log(JSON.stringify({ node: process.version, ...out }));
