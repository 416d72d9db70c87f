// Answers a survey in Debian's Chromium the way a person does, checking every
// page with axe-core (WCAG 2.1 A and AA). Run by tests/it/browser.rs with:
//   BASE   the service's address
//   LINK1  a survey link taken from a received e-mail (answered by pointer)
//   LINK2  another (answered with the keyboard only)
//   CODE1, CODE2  two paper codes, typed one after the other on one shared
//          tablet (the kiosk flow)
//   SHOTS  a folder for screenshots
// Prints one JSON line: {"violations": [...], "pages": N, ...}; exits 1 on
// any failed check.
import { launch, run } from "./common.mjs";

const { BASE, LINK1, LINK2, CODE1, CODE2, SHOTS } = process.env;
const { failures, check, axe, finish } = run();

const browser = await launch();

async function phone() {
  return browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
}

// 1. By pointer, on a phone.
let ctx = await phone();
let page = await ctx.newPage();
await page.goto(LINK1);
check(new URL(page.url()).pathname === "/svar", `the link should land on /svar, not ${page.url()}`);
check(!page.url().includes(LINK1.split("/s/")[1]), "the token must not stay in the address bar");
let pages = 0;
for (;;) {
  pages += 1;
  await axe(page, `questionnaire page ${pages}`);
  await page.screenshot({ path: `${SHOTS}/phone-page-${pages}.png`, fullPage: pages === 1 });
  const groups = await page.locator("fieldset").all();
  for (const [i, g] of groups.entries()) {
    // Tap the label, as a thumb would: the fourth option, or the last.
    const labels = g.locator("label");
    const count = await labels.count();
    await labels.nth(Math.min(3 + (i % 2), count - 1)).click();
  }
  const submit = page.locator('button[value="submit"]');
  if (await submit.count()) {
    await submit.click();
    break;
  }
  await page.locator('button[value="next"]').click();
  check((await page.locator("#progress-text").textContent()).includes(`${pages + 1}`), `progress after page ${pages}`);
  if (pages > 20) { failures.push("too many pages"); break; }
}
await page.waitForURL(/\/kvittering/);
check((await page.locator("h1").textContent()).length > 0, "the receipt has a heading");
await axe(page, "receipt");
await page.screenshot({ path: `${SHOTS}/phone-receipt.png` });
await page.goto(LINK1);
const again = await page.locator("h1").textContent();
check(/allerede svart|allereie svart|already answered/.test(again), `opening the link again should say it is used, not "${again}"`);
await axe(page, "already answered");
for (const path of ["/kode", "/tilgjengelighet", "/"]) {
  await page.goto(BASE + path);
  await axe(page, path);
}
await ctx.close();

// 2. With the keyboard alone, on a desktop-sized window.
ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
page = await ctx.newPage();
await page.goto(LINK2);
let steps = 0;
let submitted = false;
while (!submitted && steps < 2000) {
  steps += 1;
  await page.keyboard.press("Tab");
  const focused = await page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el.tagName, type: el.type || "", value: el.value || "", checked: !!el.checked };
  });
  if (focused.type === "radio" && !focused.checked) {
    await page.keyboard.press("Space");
  } else if (focused.tag === "BUTTON" && (focused.value === "next" || focused.value === "submit")) {
    await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
    if (focused.value === "submit") submitted = true;
  }
}
check(submitted, "the keyboard-only run reached the submit button");
await page.waitForURL(/\/kvittering/);
await page.screenshot({ path: `${SHOTS}/desktop-receipt.png` });
await ctx.close();

// 3. A staff-room tablet: two people answer with paper codes, one after the
// other, in one browser. The second must find nothing of the first.
ctx = await browser.newContext({ viewport: { width: 820, height: 1180 }, isMobile: true, hasTouch: true });
page = await ctx.newPage();
async function answerWithCode(code, option) {
  await page.goto(`${BASE}/kode`);
  check((await page.locator('input[name="kode"]').inputValue()) === "", "the code field starts empty");
  await page.locator('input[name="kode"]').fill(code);
  await Promise.all([page.waitForURL(/\/svar/), page.locator('form button[type="submit"]').click()]);
  for (let n = 0; n < 20; n += 1) {
    for (const g of await page.locator("fieldset").all()) {
      const labels = g.locator("label");
      await labels.nth(Math.min(option, (await labels.count()) - 1)).click();
    }
    const submit = page.locator('button[value="submit"]');
    if (await submit.count()) {
      await submit.click();
      break;
    }
    await page.locator('button[value="next"]').click();
  }
  await page.waitForURL(/\/kvittering/);
}
await answerWithCode(CODE1, 1);
await axe(page, "receipt on a shared device");
await page.screenshot({ path: `${SHOTS}/tablet-receipt.png` });
const next = page.getByRole("link", { name: "Neste person" });
check((await next.count()) === 1, "the receipt offers «Neste person»");
const jar = (await ctx.cookies()).map((c) => c.name);
check(!jar.includes("naervaer_svar") && !jar.includes("naervaer_kode"), `no answering cookie is left: ${jar}`);
// The back button: nothing of the answers may come back.
for (let back = 1; back <= 3; back += 1) {
  try { await page.goBack({ waitUntil: "load" }); } catch (e) { /* an error page is fine */ }
  const shown = await page.evaluate(() => ({
    checked: document.querySelectorAll("input:checked").length,
    radios: document.querySelectorAll('input[type="radio"]').length,
    text: document.body ? document.body.innerText.slice(0, 200) : "",
  })).catch(() => ({ checked: 0, radios: 0, text: "(no page)" }));
  check(shown.checked === 0, `back ${back}: ${shown.checked} answers of the previous person are shown`);
  // The browser's own error page cannot always be photographed.
  if (back === 1) await page.screenshot({ path: `${SHOTS}/tablet-back.png` }).catch(() => {});
}
// A back navigation onto the browser's "resubmit" error page may still be
// settling: a navigation started now can be cut off by it, so try again.
for (let attempt = 1; ; attempt += 1) {
  try {
    await page.goto(`${BASE}/kvittering?lang=nb&neste=kode`);
    break;
  } catch (e) {
    if (attempt >= 5 || !String(e).includes("interrupted by another navigation")) throw e;
    await page.waitForTimeout(200);
  }
}
await Promise.all([page.waitForURL(/\/kode/), page.getByRole("link", { name: "Neste person" }).click()]);
await axe(page, "code page for the next person");
await answerWithCode(CODE2, 2);
await ctx.close();
await browser.close();

finish({ pages, keyboard_steps: steps });
