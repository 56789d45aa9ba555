#!/usr/bin/env node
// The installed `herald` bin. It exists before the first build, so `npm ci` can link it;
// the command itself is the compiled TypeScript (run `npm run build` first).
import "../dist/src/main.js";
