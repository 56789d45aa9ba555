// Preloaded into every test process (`node --import`, by scripts/run-tests.mjs): every fc.assert and
// fc.sample in every package then starts from the seed the runner printed, so a failure reproduces with
// HERALD_FC_SEED=<seed>. fast-check keeps its global settings per module instance; the tests import the
// same ESM build, so this reaches them. Local params (numRuns, examples) still apply; a local `seed` wins.
import fc from "fast-check";
import { parseSeed, SEED_ENV } from "./fast-check-seed.mjs";

const raw = process.env[SEED_ENV];
if (raw !== undefined && raw !== "") {
  fc.configureGlobal({ ...fc.readConfigureGlobal(), seed: parseSeed(raw) });
}
