import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// Browser benchmarks: they print figures and assert only that the work got
// done. Run with `make bench-ui` (not part of `make test`).
export default defineConfig({
  ...base,
  testDir: "./bench",
  testMatch: "**/*.bench.ts",
  timeout: 600_000,
  expect: { timeout: 120_000 },
});
