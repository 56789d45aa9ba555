// The console in a real browser (Debian's Chromium through playwright-core) against a real `herald serve`:
// every view loads without console errors (CSP violations included), a filter narrows the list, a
// causation chain renders three levels deep, a dead letter is redriven after a dry run, a key without
// the admin scope cannot redrive, and every control has a label and can be reached with the keyboard.
// Screenshots of each view go to dist/test/screenshots.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import {
  api,
  browserSkip,
  CHROMIUM,
  CHROMIUM_ARGS,
  rejectingSink,
  SCREENSHOTS,
  type Serve,
  startServe,
  until,
} from "./support.js";

const ADMIN = "admin-key-0001";
const READER = "reader-key-0001";
const TIMEOUT = 20_000;

describe("the console in Chromium", { skip: browserSkip(), timeout: 5 * 60_000 }, () => {
  let serve: Serve;
  let sink: Awaited<ReturnType<typeof rejectingSink>>;
  let browser: Browser;
  let admin: ReturnType<typeof api>;
  /** Console-server endpoints this server does not have (404 route-not-found). */
  const chain: Record<"a" | "b" | "c", number> = { a: 0, b: 0, c: 0 };

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    sink = await rejectingSink();
    serve = await startServe(`${ADMIN}:admin;${READER}:consume`);
    admin = api(serve.url, ADMIN);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });

    // 40 orders over 10 streams, half of them paid.
    const orders = [];
    for (let i = 0; i < 40; i++) {
      orders.push({
        specversion: "1.0",
        id: `order-${i}`,
        source: "/shop",
        type: i % 2 === 0 ? "com.example.order.created" : "com.example.order.paid",
        subject: `order/${i % 10}`,
        datacontenttype: "application/json",
        data: { order: i % 10, total: 10 + i },
      });
    }
    const batch = await admin("POST", "/events", orders, {
      "content-type": "application/cloudevents-batch+json",
    });
    assert.equal(batch.status, 200, JSON.stringify(batch.body));
    // A causation chain a → b → c, one correlation.
    const link = async (id: string, type: string, causationid?: string) => {
      const event = {
        specversion: "1.0",
        id,
        source: "/saga",
        type,
        correlationid: "chain-a",
        ...(causationid ? { causationid } : {}),
        data: { step: id },
      };
      const res = await admin<{ results: Array<{ position: number }> }>("POST", "/events", event, {
        "content-type": "application/cloudevents+json",
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.results[0]!.position;
    };
    chain.a = await link("chain-a", "com.example.saga.started");
    chain.b = await link("chain-b", "com.example.saga.charged", "chain-a");
    chain.c = await link("chain-c", "com.example.saga.shipped", "chain-b");
    // Binary data (shown as hex).
    const binary = await fetch(`${serve.url}/events`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${ADMIN}`,
        "content-type": "application/octet-stream",
        "ce-specversion": "1.0",
        "ce-id": "blob-1",
        "ce-source": "/files",
        "ce-type": "com.example.file.stored",
      },
      body: new Uint8Array([0xde, 0xad, 0xbe, 0xef, 0x00, 0x41, 0x42]),
    });
    assert.equal(binary.status, 200);

    // A push subscription whose sink refuses: its event is a dead letter at once. A pull one with lag.
    const hook = await admin("POST", "/subscriptions", {
      id: "hook",
      sink: sink.url,
      filters: [{ exact: { type: "com.example.bad" } }],
      config: { start: "beginning" },
    });
    assert.equal(hook.status, 201, JSON.stringify(hook.body));
    const billing = await admin("POST", "/subscriptions", {
      id: "billing",
      filters: [{ prefix: { type: "com.example.order." } }],
      config: { start: "beginning" },
    });
    assert.equal(billing.status, 201, JSON.stringify(billing.body));
    const bad = await admin(
      "POST",
      "/events",
      { specversion: "1.0", id: "bad-1", source: "/shop", type: "com.example.bad", data: { x: 1 } },
      { "content-type": "application/cloudevents+json" },
    );
    assert.equal(bad.status, 200);
    await until("the dead letter", async () => {
      const res = await admin<{ deadLetters: unknown[] }>("GET", "/subscriptions/hook/dead-letters");
      return res.body.deadLetters.length === 1;
    });

    // The endpoints the lineage, subscriptions and health views read.
    for (const probe of [
      `/events/lineage?position=${chain.b}`,
      "/stats/series",
      "/stats/subscriptions",
      "/subscriptions/hook/deliveries",
    ]) {
      assert.equal((await admin("GET", probe)).status, 200, `GET ${probe}`);
    }
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    await sink?.close();
  });

  /** A fresh tab; `errors` collects console errors and uncaught exceptions (CSP violations are errors). */
  async function open(key?: string): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    if (key) {
      await context.addInitScript((k) => sessionStorage.setItem("herald.console.apiKey", k), key);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT);
    const errors: string[] = [];
    page.on("console", (message) => {
      if (message.type() !== "error") return;
      const where = message.location().url;
      errors.push(`${message.text()} (${where})`);
    });
    page.on("pageerror", (error) => errors.push(`uncaught: ${error.message}`));
    return { context, page, errors };
  }

  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${serve.url}/console`);
    await page.getByLabel("API key").fill(key);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("navigation", { name: "Views" }).waitFor();
  }

  /** Controls without an accessible name in the page's accessibility tree. */
  async function unnamedControls(page: Page): Promise<string[]> {
    const tree = await page.locator("body").ariaSnapshot();
    return tree
      .split("\n")
      .filter((line) => /^\s*- (button|textbox|combobox|checkbox|link|spinbutton|radio)\b(?! ")/.test(line));
  }

  it("signs in with an API key; every view loads without console errors and labels every control", async () => {
    const { context, page, errors } = await open();
    await page.goto(`${serve.url}/console`);
    await page.getByLabel("API key").waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}login.png` });
    await page.getByLabel("API key").fill("not-a-key-0001");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "did not accept" }).waitFor();
    await signIn(page, ADMIN);
    assert.equal(await page.evaluate(() => sessionStorage.getItem("herald.console.apiKey")), ADMIN);

    const views: Array<[string, string, string]> = [
      ["Events", "Events", "events"],
      ["Lineage", "Lineage", "lineage"],
      ["Streams", "Streams", "streams"],
      ["Subscriptions", "Subscriptions", "subscriptions"],
      ["Dead letters", "Dead letters", "dead-letters"],
      ["Health", "Health", "health"],
    ];
    for (const [link, heading, shot] of views) {
      await page.getByRole("navigation", { name: "Views" }).getByRole("link", { name: link }).click();
      await page.getByRole("heading", { level: 1, name: heading }).waitFor();
      await page.waitForLoadState("networkidle");
      if (shot === "events")
        await page
          .getByRole("button", { name: /^Open event / })
          .first()
          .waitFor();
      if (shot === "subscriptions")
        await page.getByRole("button", { name: "Open subscription hook" }).waitFor();
      if (shot === "dead-letters") {
        await page.getByLabel("Subscription").selectOption("hook");
        await page.getByRole("cell", { name: "bad-1" }).waitFor();
      }
      if (shot === "streams") await page.getByRole("button", { name: "Open stream order/1" }).waitFor();
      if (shot === "health") {
        await page.getByRole("definition").first().waitFor();
        await page.getByRole("img", { name: /^Ingest rate/ }).waitFor();
      }
      await page.screenshot({ path: `${SCREENSHOTS}${shot}.png`, fullPage: true });
      assert.deepEqual(await unnamedControls(page), [], `controls without a label on ${link}`);
    }
    // One subscription's page, and an event's detail.
    await page.goto(`${serve.url}/console#/subscriptions/billing`);
    await page.getByRole("heading", { level: 1, name: "Subscription billing" }).waitFor();
    await page.getByRole("definition").first().waitFor();
    await page.waitForLoadState("networkidle");
    await page.screenshot({ path: `${SCREENSHOTS}subscription.png`, fullPage: true });
    assert.deepEqual(await unnamedControls(page), [], "controls without a label on a subscription");
    await page.goto(`${serve.url}/console#/events?after=${chain.a - 1}`);
    await page.getByRole("button", { name: `Open event chain-b at position ${chain.b}` }).click();
    const detail = page.getByRole("region", { name: "Event chain-b" });
    await detail.waitFor();
    for (const attribute of ["specversion", "id", "source", "type", "correlationid", "causationid"]) {
      await detail.getByRole("rowheader", { name: attribute, exact: true }).waitFor();
    }
    assert.match(
      (await detail.locator("pre.data").textContent()) ?? "",
      /"step": "chain-b"/,
      "JSON data indented",
    );
    assert.match(await detail.getByRole("textbox", { name: "curl" }).inputValue(), /curl -X POST .*\/events/);
    assert.match(
      await detail.getByRole("textbox", { name: "herald publish" }).inputValue(),
      /herald publish .*--file -/,
    );
    await page.screenshot({ path: `${SCREENSHOTS}event-detail.png`, fullPage: true });
    assert.deepEqual(await unnamedControls(page), [], "controls without a label on an event's detail");
    assert.deepEqual(errors, [], "console errors");
    await context.close();
  });

  it("shows binary data as hex", async () => {
    const { context, page, errors } = await open(ADMIN);
    await page.goto(`${serve.url}/console#/events?filter=${encodeURIComponent("id = 'blob-1'")}`);
    await page.getByRole("button", { name: /^Open event blob-1 / }).click();
    const data = page.getByRole("region", { name: "Event blob-1" }).locator("pre.data");
    assert.match((await data.textContent()) ?? "", /^00000000 {2}de ad be ef 00 41 42 +\.\.\.\.\.AB$/m);
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("a CESQL filter narrows the list; a bad one is shown at its position", async () => {
    const { context, page, errors } = await open(ADMIN);
    await page.goto(`${serve.url}/console#/events`);
    const rows = page.getByRole("button", { name: /^Open event / });
    await rows.first().waitFor();
    const all = await rows.count();
    assert.equal(all, 45, "40 orders, 3 chain events, 1 blob, 1 bad event on the first page");
    await page.getByLabel("CESQL filter").fill("type = 'com.example.order.paid' AND subject = 'order/3'");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForFunction(() => document.querySelectorAll("button.row-open").length === 4);
    const types = await page.locator("table.grid tbody tr td:nth-child(5)").allInnerTexts();
    assert.deepEqual([...new Set(types)], ["com.example.order.paid"]);
    assert.equal(await page.getByRole("cell", { name: "order/3" }).count(), 4);

    await page.getByLabel("CESQL filter").fill("type = 'a' AND (");
    await page.getByRole("button", { name: "Apply" }).click();
    const alert = page.getByRole("alert");
    await alert.waitFor();
    assert.match((await alert.textContent()) ?? "", /not a valid CESQL expression/);
    assert.equal(
      (await alert.locator("pre.caret").textContent()) ?? "",
      "type = 'a' AND (\n                ^",
    );
    assert.equal(await page.getByLabel("CESQL filter").getAttribute("aria-invalid"), "true");
    await page.screenshot({ path: `${SCREENSHOTS}filter-error.png` });
    // The 400 of the refused filter is the only console error.
    assert.deepEqual(
      errors.filter((e) => !/status of 400/.test(e)),
      [],
    );
    await context.close();
  });

  it("reads one stream both ways, and the live tail shows an event as it is appended", async () => {
    const { context, page, errors } = await open(READER);
    await page.goto(`${serve.url}/console#/streams`);
    await page.getByRole("button", { name: "Open stream order/1" }).click();
    await page.getByRole("heading", { level: 1, name: "Stream order/1" }).waitFor();
    const versions = () => page.locator("table.grid tbody tr td:nth-child(4)").allTextContents();
    await page.waitForFunction(() => document.querySelectorAll("button.row-open").length === 4);
    assert.deepEqual(await versions(), ["0", "1", "2", "3"]);
    await page.getByRole("button", { name: "Newest first" }).click();
    await page.getByRole("button", { name: "Oldest first" }).waitFor();
    await page.waitForFunction(
      () => document.querySelector("table.grid tbody td:nth-child(4)")?.textContent === "3",
    );
    assert.deepEqual(await versions(), ["3", "2", "1", "0"]);

    await page.goto(`${serve.url}/console#/events`);
    await page
      .getByRole("button", { name: /^Open event / })
      .first()
      .waitFor();
    await page.getByLabel("Live tail").check();
    const published = await admin(
      "POST",
      "/events",
      { specversion: "1.0", id: "tailed-1", source: "/tail", type: "com.example.tailed" },
      { "content-type": "application/cloudevents+json" },
    );
    assert.equal(published.status, 200);
    await page.getByRole("button", { name: /^Open event tailed-1 / }).waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("renders a 3-level causation chain", async () => {
    const { context, page, errors } = await open(ADMIN);
    await page.goto(`${serve.url}/console#/lineage?position=${chain.b}`);
    const tree = page.getByRole("list", { name: "Causes and effects" });
    await tree.waitFor();
    // Root (the cause) → the event → its effect, each nested in the one before.
    const level1 = tree.locator(":scope > li");
    assert.match((await level1.locator(":scope > .node").textContent()) ?? "", /chain-a/);
    const level2 = level1.locator(":scope > ul > li");
    assert.match((await level2.locator(":scope > .node").textContent()) ?? "", /chain-b/);
    assert.equal(await level2.getAttribute("aria-current"), "true");
    const level3 = level2.locator(":scope > ul > li");
    assert.match((await level3.locator(":scope > .node").textContent()) ?? "", /chain-c/);
    await page.getByRole("heading", { name: /Correlation chain-a/ }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}lineage-tree.png`, fullPage: true });
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("redrives a dead letter only after a dry run; the live checkpoint stays", async () => {
    const { context, page, errors } = await open(ADMIN);
    const before = await admin<{ checkpoint: number }>("GET", "/subscriptions/hook/stats");
    const received = sink.received();
    await page.goto(`${serve.url}/console#/dead-letters?subscription=hook`);
    await page.getByRole("cell", { name: "bad-1" }).waitFor();
    const form = page.getByRole("form", { name: "Redrive dead letters" });
    const redrive = form.getByRole("button", { name: /^Redrive/ });
    assert.equal(await redrive.isDisabled(), true, "no redrive before a dry run");
    await form.getByRole("button", { name: "Dry run", exact: true }).click();
    await form.getByRole("status").filter({ hasText: "1 dead letters would be redriven" }).waitFor();
    await form.getByRole("button", { name: "Redrive 1" }).click();
    await form.getByRole("status").filter({ hasText: "Redriven: 1" }).waitFor();
    await page.screenshot({ path: `${SCREENSHOTS}redriven.png`, fullPage: true });
    // Redelivered to the sink, which refuses it again: a second dead letter.
    await until("the second dead letter", async () => {
      const res = await admin<{ deadLetters: unknown[] }>("GET", "/subscriptions/hook/dead-letters");
      return res.body.deadLetters.length === 2;
    });
    assert.equal(sink.received(), received + 1, "only the redriven event went out again, no replay");
    const after = await admin<{ checkpoint: number }>("GET", "/subscriptions/hook/stats");
    // It only goes on past new positions (the new dead letter itself is one), never back.
    assert.ok(after.body.checkpoint >= before.body.checkpoint, "the live checkpoint did not move back");
    const again = await admin<{ count: number }>("POST", "/subscriptions/hook/dead-letters/redrive", {
      dryRun: true,
    });
    assert.equal(again.body.count, 1, "the first dead letter is redriven; its new dead letter waits");
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("creates, edits, resets (after a preview) and deletes a subscription", async () => {
    const { context, page, errors } = await open(ADMIN);
    await page.goto(`${serve.url}/console#/subscriptions`);
    await page.getByRole("button", { name: "New subscription" }).click();
    const form = page.getByRole("form", { name: "New subscription" });
    await form.getByLabel("Id").fill("audit");
    await form.getByLabel("CESQL filter").fill("type LIKE 'com.example.order.%'");
    await form.getByLabel("Start").selectOption("now");
    await form.getByRole("button", { name: "Create" }).click();
    await page.getByRole("heading", { level: 1, name: "Subscription audit" }).waitFor();
    const created = await admin<{ filters: unknown[]; config: { start: string } }>(
      "GET",
      "/subscriptions/audit",
    );
    assert.equal(created.status, 200);
    assert.deepEqual(created.body.filters, [{ sql: "type LIKE 'com.example.order.%'" }]);

    // Reset to the beginning: the preview tells how many events would be delivered, then it is done.
    const reset = page.getByRole("form", { name: "Reset subscription" });
    await reset.getByRole("button", { name: "Preview reset" }).click();
    await reset.getByRole("status").filter({ hasText: "Would redeliver 40 events" }).waitFor();
    await reset.getByRole("button", { name: "Reset", exact: true }).click();
    await reset.getByRole("button", { name: "Reset and redeliver 40" }).click();
    await reset
      .getByRole("status")
      .filter({ hasText: "Reset: checkpoint 0, 40 events to deliver" })
      .waitFor();
    const stats = await admin<{ lag: number; checkpoint: number }>("GET", "/subscriptions/audit/stats");
    assert.deepEqual([stats.body.checkpoint, stats.body.lag], [0, 40]);

    // Edit the definition as JSON.
    const edit = page.getByRole("form", { name: "Edit subscription" });
    const definition = edit.getByLabel(/Definition/);
    const resource = JSON.parse(await definition.inputValue()) as { config: Record<string, string> };
    resource.config.maxDeliveries = "3";
    await definition.fill(JSON.stringify(resource));
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    const edited = await admin<{ config: { maxDeliveries: string } }>("GET", "/subscriptions/audit");
    assert.equal(edited.body.config.maxDeliveries, "3");
    // A refused edit shows the server's field errors.
    await definition.fill(
      JSON.stringify({ ...resource, config: { ...resource.config, ordering: "sideways" } }),
    );
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.getByRole("alert").filter({ hasText: "/config/ordering" }).waitFor();

    await page.getByRole("button", { name: "Delete subscription" }).click();
    await page.getByRole("button", { name: "Really delete audit" }).click();
    await page.getByRole("heading", { level: 1, name: "Subscriptions" }).waitFor();
    assert.equal((await admin("GET", "/subscriptions/audit")).status, 404);
    assert.deepEqual(
      errors.filter((e) => !/status of 400/.test(e)),
      [],
      "only the refused edit (400) is in the console",
    );
    await context.close();
  });

  it("lists subscriptions with lag in events and seconds, and the delivery attempts of one", async () => {
    const { context, page, errors } = await open(ADMIN);
    await page.goto(`${serve.url}/console#/subscriptions`);
    const row = page
      .getByRole("row")
      .filter({ has: page.getByRole("button", { name: "Open subscription billing" }) });
    await row.getByRole("cell", { name: "40", exact: true }).waitFor();
    // Lag in seconds: the age of the oldest unacked event, shown with its unit.
    await row.getByRole("cell", { name: /^\d+(\.\d)? (ms|s|min)$/ }).waitFor();
    await page.goto(`${serve.url}/console#/subscriptions/hook`);
    const attempts = page.getByRole("table", { name: "Delivery attempts" });
    await attempts.getByRole("cell", { name: "bad-1" }).first().waitFor();
    await attempts.getByRole("cell", { name: "rejected" }).first().waitFor();
    await attempts.getByRole("cell", { name: "400", exact: true }).first().waitFor();
    assert.deepEqual(errors, []);
    await context.close();
  });

  it("a key without the admin scope sees no redrive, reset or delete, and the server refuses it", async () => {
    const { context, page, errors } = await open();
    await signIn(page, READER);
    const nav = page.getByRole("navigation", { name: "Views" });
    assert.equal(await nav.getByRole("link", { name: "Subscriptions" }).count(), 0);
    assert.equal(await nav.getByRole("link", { name: "Dead letters" }).count(), 0);
    await page.getByText("key scope: consume").waitFor();
    await page.goto(`${serve.url}/console#/dead-letters?subscription=hook`);
    await page.getByRole("status").filter({ hasText: "admin scope" }).waitFor();
    assert.equal(await page.getByRole("button", { name: /Redrive|Dry run|Reset|Delete/ }).count(), 0);
    await page.goto(`${serve.url}/console#/streams`);
    await page.getByRole("button", { name: "Open stream order/1" }).waitFor();
    assert.equal(await page.getByRole("button", { name: /Delete/ }).count(), 0);
    await page.goto(`${serve.url}/console#/subscriptions/hook`);
    await page.getByRole("status").filter({ hasText: "admin scope" }).waitFor();
    assert.equal(await page.getByRole("button", { name: /Delete|Reset|Preview/ }).count(), 0);
    // Asked anyway, from the page with its key, the server says no.
    const status = await page.evaluate(async () => {
      const key = sessionStorage.getItem("herald.console.apiKey");
      const res = await fetch("/subscriptions/hook/dead-letters/redrive", {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ dryRun: false }),
      });
      return res.status;
    });
    assert.equal(status, 403);
    await page.screenshot({ path: `${SCREENSHOTS}reader.png` });
    // Only the refusal asked for above (403) is in the console: the views asked for nothing refused.
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0]!, /status of 403/);
    await context.close();
  });

  it("works from the keyboard: sign in, reach the list, open an event, move between rows", async () => {
    const { context, page } = await open();
    await page.goto(`${serve.url}/console`);
    await page.getByLabel("API key").waitFor();
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute("name")), "apiKey");
    await page.keyboard.type(ADMIN);
    await page.keyboard.press("Enter");
    await page.getByRole("navigation", { name: "Views" }).waitFor();
    await page
      .getByRole("button", { name: /^Open event / })
      .first()
      .waitFor();
    // Tab walks the skip link, the views, sign out, the filter form, then the rows.
    const reached = new Set<string>();
    for (let i = 0; i < 40; i++) {
      await page.keyboard.press("Tab");
      const label = await page.evaluate(
        () =>
          document.activeElement?.getAttribute("aria-label") ??
          document.activeElement?.textContent?.trim() ??
          "",
      );
      reached.add(label);
      if (label.startsWith("Open event ")) break;
    }
    for (const name of ["Skip to content", "Events", "Subscriptions", "Health", "Sign out", "Apply"]) {
      assert.ok(reached.has(name), `Tab reaches ${name}: ${[...reached].join(" | ")}`);
    }
    const first = await page.evaluate(() => document.activeElement?.getAttribute("aria-label"));
    assert.match(first ?? "", /^Open event order-0 /);
    await page.keyboard.press("ArrowDown");
    assert.match(
      (await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))) ?? "",
      /^Open event order-1 /,
    );
    await page.keyboard.press("Enter");
    await page.getByRole("region", { name: "Event order-1" }).waitFor();
    await context.close();
  });
});
