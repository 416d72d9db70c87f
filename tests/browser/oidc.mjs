// Sign-in through a real OpenID Connect provider (oidc-provider.mjs) in
// Debian's Chromium, the whole flow as a person does it: the sign-in page,
// the button, the provider's login and consent, the way back. Run by
// tests/it/oidc.rs with BASE (the service), LEADER (a leader's e-mail),
// UNKNOWN (an e-mail of nobody with a role) and SHOTS. Prints one JSON line;
// exits 1 on any failed check.
import { launch, run } from "./common.mjs";

const { BASE, LEADER, UNKNOWN, SHOTS } = process.env;
const { check, axe, finish } = run();
const out = {};

const browser = await launch();

// A fresh browser for each person; the provider's pages load a web font
// from the internet, which this closed network does not reach.
async function fresh() {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await ctx.newPage();
  await page.route("https://fonts.googleapis.com/**", (r) => r.abort());
  return { ctx, page };
}

// Through the provider's own pages: login (any password), then consent.
async function throughProvider(page, login) {
  await page.waitForSelector('input[name="login"]');
  await page.fill('input[name="login"]', login);
  await page.fill('input[name="password"]', "passord");
  await page.click('button[type="submit"]');
  // The consent page (no login field), or already back at the service.
  await page.waitForFunction(() => !document.querySelector('input[name="login"]'), null, { timeout: 10000 });
  if (new URL(page.url()).origin !== new URL(BASE).origin) {
    await page.click('button[type="submit"]').catch(() => {});
  }
}

// Waits (up to ten seconds) until `get` gives something.
async function until(get) {
  for (let i = 0; i < 100 && !get(); i++) await new Promise((r) => setTimeout(r, 100));
  return get();
}

const callbacks = [];
let stateCookie;
async function start(login, lang = "nb") {
  const { ctx, page } = await fresh();
  page.on("request", (r) => { if (r.url().includes("/oidc/callback")) callbacks.push(r.url()); });
  await page.goto(`${BASE}/innlogging?lang=${lang}`);
  await page.locator('a[href^="/oidc/login"]').click();
  await page.waitForSelector('input[name="login"]');
  stateCookie = (await ctx.cookies()).find((c) => c.name === "naervaer_oidc");
  await throughProvider(page, login);
  await page.waitForURL(`${BASE}/**`);
  await page.waitForLoadState();
  return { ctx, page };
}

// 1. A leader signs in and lands on the results, signed in.
{
  const { page } = await fresh();
  await page.goto(`${BASE}/innlogging?lang=nb`);
  await axe(page, "sign-in page with the identity provider's button");
  await page.screenshot({ path: `${SHOTS}/oidc-sign-in.png`, fullPage: true });
  const { ctx, page: p } = await start(LEADER);
  check(new URL(p.url()).pathname === "/resultater", `the leader should land on /resultater, not ${p.url()}`);
  const header = await p.locator("header").textContent();
  check(header.includes("Logg ut"), "signed in: the header offers to sign out");
  const cookies = await ctx.cookies();
  check(cookies.some((c) => c.name === "naervaer_okt" && c.httpOnly), "a session cookie, HttpOnly");
  check(!cookies.some((c) => c.name === "naervaer_oidc" && c.value), "the sign-in's state cookie is cleared");
  await p.screenshot({ path: `${SHOTS}/oidc-signed-in.png` });
  // The same callback again, with the state's cookie put back as it was:
  // the sign-in it belonged to is used up, so it is refused.
  const first = callbacks[callbacks.length - 1];
  check(!!stateCookie, "the state's cookie was set");
  await ctx.addCookies([stateCookie]);
  const again = await p.goto(first);
  out.replay_status = again.status();
  check(again.status() === 400, `a callback used twice should be refused, got ${again.status()}`);
  check((await p.locator("main").textContent()).includes("brukt to ganger"), "said to be used twice");
  await ctx.close();
}

// 2. Someone the provider knows but naervaer gives no role: no session.
{
  const { ctx, page } = await start(UNKNOWN, "en");
  const text = await page.locator("main").textContent();
  check(text.includes("is not a leader"), `an unknown person is told why: ${text}`);
  await axe(page, "sign-in refused (unknown person)");
  const res = await page.goto(`${BASE}/resultater`);
  check(res.status() === 401, `no session for an unknown person, got ${res.status()}`);
  await ctx.close();
}

// 3. A token that arrives expired (the provider's «utlopt» account, a
//    leader's address): refused.
{
  const { ctx, page } = await start("utlopt");
  const text = await page.locator("main").textContent();
  check(text.includes("kunne ikke bekreftes"), `an expired token is refused: ${text}`);
  const res = await page.goto(`${BASE}/resultater`);
  check(res.status() === 401, `no session from an expired token, got ${res.status()}`);
  await ctx.close();
}

// 3b. An address the provider says is not verified: not used.
{
  const { ctx, page } = await start("ubekreftet");
  const res = await page.goto(`${BASE}/resultater`);
  check(res.status() === 401, `no session from an unverified address, got ${res.status()}`);
  await ctx.close();
}

// 4. Cancelled at the provider.
{
  const { ctx, page } = await fresh();
  await page.goto(`${BASE}/innlogging?lang=nb`);
  await page.locator('a[href^="/oidc/login"]').click();
  await page.waitForSelector('input[name="login"]');
  await page.click("text=[ Cancel ]");
  await page.waitForURL(`${BASE}/**`);
  const text = await page.locator("main").textContent();
  check(text.includes("avbrutt eller avvist"), `a cancelled sign-in says so: ${text}`);
  await ctx.close();
}

// 5. A callback that comes without the state this browser was given (a
//    sign-in someone else started, brought to this browser): refused, and
//    its code left unused. The test then exchanges that code itself, to
//    check the validation on the provider's real tokens.
{
  const { ctx, page } = await fresh();
  let caught;
  page.on("request", (r) => { if (r.url().startsWith(`${BASE}/oidc/callback`)) caught = r.url(); });
  await page.goto(`${BASE}/oidc/login`);
  await ctx.clearCookies({ name: "naervaer_oidc" });
  await throughProvider(page, LEADER);
  await until(() => caught);
  await page.waitForLoadState();
  out.caught = caught;
  check(!!caught, "the callback was reached");
  const text = await page.locator("main").textContent();
  check(text.includes("startet i en annen nettleser"), `a callback without this browser's state is refused: ${text}`);
  const res = await page.goto(`${BASE}/resultater`);
  check(res.status() === 401, `no session from another browser's callback, got ${res.status()}`);
  await ctx.close();
  // In a browser with a sign-in of its own under way, but not that one.
  const other = await fresh();
  await other.page.goto(`${BASE}/oidc/login`);
  await other.page.waitForSelector('input[name="login"]');
  const mine = await other.page.goto(caught);
  check(mine.status() === 400, `a callback with another sign-in's state should be refused, got ${mine.status()}`);
  await other.ctx.close();
}

await browser.close();
finish(out);
