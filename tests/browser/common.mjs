// What every browser script shares: Debian's Chromium started as this
// closed network needs it, and a run's checks — axe-core (WCAG 2.1 A and
// AA) on each page, and the script's own checks — reported as one JSON line.
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

export function launch() {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--no-first-run"],
  });
}

/// A run's record: `check(ok, what)`, `axe(page, name)`, and `finish(extra)`,
/// which prints {violations, failures, pages, ...extra} and exits 1 on any
/// violation or failed check.
export function run() {
  const failures = [];
  const violations = [];
  const checked = [];
  return {
    failures,
    violations,
    checked,
    check(ok, what) { if (!ok) failures.push(what); },
    async axe(page, name) {
      const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
      checked.push(name);
      for (const v of result.violations) {
        violations.push({ page: name, id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(" ")).slice(0, 5) });
      }
    },
    finish(extra = {}) {
      console.log(JSON.stringify({ violations, failures, pages: checked.length, ...extra }));
      process.exit(violations.length || failures.length ? 1 : 0);
    },
  };
}

/// Opens a sign-in link in a new context of `browser` at `viewport`, lets
/// `onPage` look at the sign-in page (e.g. axe), presses the button and
/// waits for the results page.
export async function signIn(browser, link, viewport, onPage) {
  const ctx = await browser.newContext({ viewport });
  const page = await ctx.newPage();
  await page.goto(link);
  if (onPage) await onPage(page);
  await page.locator("main button[type=submit]").click();
  await page.waitForURL("**/resultater");
  return page;
}

/// The text of a page's main landmark.
export const text = async (page) => (await page.locator("main").textContent()) || "";
