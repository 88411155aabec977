import { request, FullConfig } from "@playwright/test";
import { adminEmail, password } from "./tests/helpers";

/// The run's first account, and so its admin (the support spec logs in as
/// it to make agents). scripts/test.sh starts every run on a fresh database;
/// on a reused one the sign-up is refused and the existing account stays.
export default async function globalSetup(config: FullConfig) {
  const baseURL = config.projects[0].use.baseURL ?? "http://127.0.0.1:3000";
  const api = await request.newContext({ baseURL, extraHTTPHeaders: { Origin: baseURL } });
  const reply = await api.post("/api/signup", {
    form: { email: adminEmail, display_name: "Root", password },
  });
  if (!reply.ok() && reply.status() !== 409) {
    throw new Error(`could not create the admin account: ${reply.status()} ${await reply.text()}`);
  }
  await api.dispose();
}
