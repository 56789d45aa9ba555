// The staff page in a real browser (Debian's Chromium through playwright-core) against the whole
// system as real processes: an order placed at the kiosk moves placed → paid → ready → picked-up in its
// row, live, while the bot's row shows it shopping store by store; no console error (a CSP violation
// is one); without a key the page asks for it through a labelled form.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { type Browser, chromium, type Page } from "playwright-core";
import { type MallbotsSystem, startSystem } from "../src/system.js";
import { BASKET, kioskOf, placeOrder, priceOf } from "./support.js";

const CHROMIUM = process.env["HERALD_CHROMIUM"] ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-dev-shm-usage",
];
/** Generous: two cores shared by every process of the system, the browser and other builds. */
const TIMEOUT = 60_000;

/** Why this cannot run here, or false. Under CI=true it never skips. */
function browserSkip(): string | false {
  if (process.env["CI"] === "true") return false;
  return existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
}

/** Every value a status/store cell of the page ever showed, recorded in the page as it changes. */
interface Seen {
  readonly orders: Record<string, string[]>;
  readonly bots: Record<string, { status: string[]; task: string[]; store: string[] }>;
}

/**
 * Records each row's cells as the page writes them (a MutationObserver), so no step can be missed.
 * A script string: this package's TypeScript has no DOM types (it runs in the page).
 */
const RECORDER = `(() => {
  const seen = { orders: {}, bots: {} };
  window.seen = seen;
  const push = (list, value) => { if (list.at(-1) !== value) list.push(value); };
  const record = (row) => {
    const text = (i) => row.cells[i]?.textContent ?? "";
    if (row.dataset.orderId) push((seen.orders[row.dataset.orderId] ??= []), text(3));
    if (row.dataset.botId) {
      const bot = (seen.bots[row.dataset.botId] ??= { status: [], task: [], store: [] });
      push(bot.status, text(1));
      push(bot.task, text(2));
      push(bot.store, text(3));
    }
  };
  new MutationObserver((mutations) => {
    for (const mutation of mutations) {
      const target = mutation.target.nodeType === Node.ELEMENT_NODE ? mutation.target : mutation.target.parentElement;
      const row = target?.closest("tr");
      if (row && row.parentElement?.tagName === "TBODY") record(row);
    }
  }).observe(document.body, { subtree: true, childList: true, characterData: true });
})()`;

async function recordChanges(page: Page): Promise<void> {
  await page.evaluate(RECORDER);
}

describe("the staff page in Chromium", { skip: browserSkip(), timeout: 5 * 60_000 }, () => {
  let system: MallbotsSystem;
  let browser: Browser;
  const errors: string[] = [];

  before(async () => {
    // One bot, slow enough per store that its shopping shows for a while.
    const verbose = process.env["MALLBOTS_TEST_LOG"] === "1";
    system = await startSystem({
      bots: 1,
      botStepMs: 700,
      ...(verbose ? { log: (role, line) => process.stderr.write(`[${role}] ${line}\n`) } : {}),
    });
    await system.settled();
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });
  after(async () => {
    await browser?.close();
    await system?.close();
  });

  async function openPage(path: string): Promise<Page> {
    const page = await browser.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") errors.push(message.text());
    });
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(`${system.url("gateway")}${path}`);
    return page;
  }

  it("shows an order move through its states live, and the bot shopping it", async () => {
    const page = await openPage(`/staff?key=${encodeURIComponent(system.keys.staff)}`);
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor({ timeout: TIMEOUT });
    // The key left the address bar (kept in sessionStorage).
    assert.ok(!page.url().includes("key="), page.url());
    await recordChanges(page);
    const botRow = page.locator('#bots tr[data-bot-id="bot-1"]');
    await botRow.waitFor({ timeout: TIMEOUT });
    assert.equal(await botRow.locator("td").nth(1).textContent(), "idle");

    const kiosk = kioskOf(system);
    const orderId = await placeOrder(kiosk, "ada-browser");
    const row = page.locator(`#orders tr[data-order-id="${orderId}"]`);
    const status = row.locator("td[data-status]");
    await row.waitFor({ timeout: TIMEOUT });
    assert.equal(await row.locator("td").nth(1).textContent(), "ada-browser");
    assert.equal(await row.locator("td").nth(2).textContent(), (priceOf(BASKET) / 100).toFixed(2));

    // The bot takes the order: its row says shopping, with the order and a store of the basket.
    await page
      .locator('#bots tr[data-bot-id="bot-1"] td[data-status="shopping"]')
      .waitFor({ timeout: TIMEOUT });
    await status.filter({ hasText: /^ready$/ }).waitFor({ timeout: TIMEOUT });
    assert.equal(await row.locator("td").nth(4).textContent(), "bot-1");

    const pickup = await kiosk.pickup(orderId);
    assert.equal(pickup.status, 200, JSON.stringify(pickup.body));
    await status.filter({ hasText: /^picked-up$/ }).waitFor({ timeout: TIMEOUT });

    const seen = (await page.evaluate("window.seen")) as Seen;
    assert.deepEqual(seen.orders[orderId], ["placed", "paid", "ready", "picked-up"]);
    const bot = seen.bots["bot-1"]!;
    assert.ok(bot.status.includes("shopping"), JSON.stringify(bot));
    assert.ok(bot.task.includes(orderId), JSON.stringify(bot));
    assert.ok(
      bot.store.includes("The Greengrocer (Level 1, east wing)") &&
        bot.store.includes("Pages & Co. (Level 2, north wing)"),
      JSON.stringify(bot),
    );
    // Done shopping: idle again.
    await botRow.locator('td[data-status="idle"]').waitFor({ timeout: TIMEOUT });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it("asks for the staff key when none is given, through a labelled form", async () => {
    const page = await openPage("/staff");
    const key = page.getByLabel("Staff key");
    await key.waitFor({ timeout: TIMEOUT });
    assert.equal(await page.getByRole("status").textContent(), "Enter the staff key");
    assert.ok(await page.locator("#key-form").isVisible());
    await key.fill(system.keys.staff);
    await page.getByRole("button", { name: "Connect" }).click();
    await page.getByRole("status").filter({ hasText: "Live" }).waitFor({ timeout: TIMEOUT });
    assert.ok(await page.locator("#key-form").isHidden());
    // The orders table has the order of the test before (the snapshot).
    assert.ok((await page.locator("#orders tbody tr").count()) >= 1);
    assert.deepEqual(errors, []);
    await page.close();
  });
});
