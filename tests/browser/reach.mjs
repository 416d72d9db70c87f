// The pages of issue 15 in Debian's Chromium, on the demo municipality:
// a leader follows the response rate on a phone and reads a unit's trend,
// norms and heatmap; the verneombud reads the follow-up of the unit she
// represents without a form to change it; anyone opens a group's results
// link; the administrator sees the live counts, the delivery choice and the
// paper letters with QR codes; a letter's QR link fills in the code.
// axe-core (WCAG 2.1 A and AA) checks every page. Run by tests/it/browser.rs
// with BASE, LEADER, REP, ADMIN (sign-in links), CLOSED, OPEN (rounds),
// OPPVEKST, SCHOOL (group ids), RESULTS (a results link), CODE and SHOTS.
import { launch, run, signIn, text } from "./common.mjs";

const { BASE, LEADER, REP, ADMIN, CLOSED, OPEN, OPPVEKST, SCHOOL, RESULTS, CODE, SHOTS } = process.env;
const { check, axe, finish } = run();

const browser = await launch();

const signInAs = (link, viewport) => signIn(browser, link, viewport);

const phone = { width: 390, height: 844 };
const noSideways = async (page, what) =>
  check((await page.locator("html").evaluate((e) => e.scrollWidth)) <= phone.width, `${what}: no sideways scrolling`);

// The leader of Oppvekst, on a phone.
let page = await signInAs(LEADER, phone);
for (const lang of ["nb", "nn", "en"]) {
  await page.goto(`${BASE}/svarprosent?lang=${lang}`);
  await axe(page, `leader: response rate (${lang})`);
}
await page.goto(`${BASE}/svarprosent?lang=nb`);
check((await text(page)).includes("Sentrum skole"), "the leader's units are rows");
check((await text(page)).includes("med Tuntreet barnehage"), "the kindergarten of three is counted in Oppvekst");
check((await page.locator("svg.chart.trend").count()) === 1, "the rate day by day as a chart");
await noSideways(page, "response rate");
await page.screenshot({ path: `${SHOTS}/live-phone.png`, fullPage: true });
await page.goto(`${BASE}/resultater/${CLOSED}/${SCHOOL}?lang=nb`);
await axe(page, "leader: a school's page with trend and norms");
check((await page.locator("figure.trend-one").count()) >= 10, "a trend chart per factor");
check((await text(page)).includes("norm (skole, nasjonalt)"), "the norm beside the score");
await noSideways(page, "unit page with trends");
await page.locator("div.trends").screenshot({ path: `${SHOTS}/trends.png` });
await page.locator("table.trend-table").screenshot({ path: `${SHOTS}/trend-table.png` });
for (const colour of ["", "&farge=endring"]) {
  for (const lang of ["nb", "en"]) {
    await page.goto(`${BASE}/resultater/${CLOSED}/${OPPVEKST}/kart?lang=${lang}${colour}`);
    await axe(page, `leader: heatmap ${colour || "by score"} (${lang})`);
  }
}
check((await page.locator("table.heat tbody tr").count()) >= 8, "a heatmap row per unit");
await noSideways(page, "heatmap");

// The same heatmap on a desktop.
const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const dpage = await desk.newPage();
await dpage.context().addCookies(await page.context().cookies());
await dpage.goto(`${BASE}/resultater/${CLOSED}/${OPPVEKST}/kart?lang=nb`);
await dpage.screenshot({ path: `${SHOTS}/heatmap.png`, fullPage: true });
await dpage.goto(`${BASE}/resultater/${CLOSED}/${OPPVEKST}/kart?lang=nb&farge=endring`);
await dpage.screenshot({ path: `${SHOTS}/heatmap-change.png`, fullPage: true });

// The verneombud of Oppvekst reads; nothing to change.
page = await signInAs(REP, phone);
await axe(page, "verneombud: results list");
check((await text(page)).includes("Oppvekst"), "the verneombud sees the unit she represents");
await page.goto(`${BASE}/resultater/${CLOSED}/${OPPVEKST}?lang=nb`);
await axe(page, "verneombud: unit results");
check((await page.locator("form.plan").count()) === 0, "no plan form for a representative");
await page.goto(`${BASE}/oppfolging/enheter/${OPPVEKST}?lang=nb`);
await axe(page, "verneombud: unit follow-up");
check((await page.locator("main form[method=post]").count()) === 0, "no form to set targets or enter measures");
await page.goto(`${BASE}/tiltak?lang=nb`);
await axe(page, "verneombud: register");
check((await page.locator("form.plan[method=post]").count()) === 0, "no form to enter a measure");

// A results link, without signing in, in three languages.
const anon = await (await browser.newContext({ viewport: phone })).newPage();
for (const lang of ["nb", "nn", "en"]) {
  const res = await anon.goto(`${RESULTS}?lang=${lang}`);
  check(res.status() === 200, `the results link opens (${lang}): ${res.status()}`);
  await axe(anon, `results link (${lang})`);
}
check((await anon.locator("h1").textContent()).length > 0, "the group's name");
await anon.screenshot({ path: `${SHOTS}/results-link-phone.png`, fullPage: true });
// A letter's QR link (/kode#CODE): the code filled in, and taken out of
// the address and the history.
await anon.goto(`${BASE}/kode?lang=nb#${CODE}`);
await anon.waitForFunction(() => document.getElementById("kode").value !== "");
await axe(anon, "code page filled in from a QR code");
check((await anon.inputValue("#kode")) === CODE, "the code is filled in");
check(!anon.url().includes(CODE), `the code has left the address: ${anon.url()}`);

// The administrator.
page = await signInAs(ADMIN, { width: 1280, height: 900 });
await page.goto(`${BASE}/admin?lang=nb`);
await axe(page, "admin: overview with the delivery choice");
check((await page.locator('input[name="delivery"]').count()) === 3, "three ways of sending");
await page.goto(`${BASE}/admin/runder/${OPEN}?lang=nb`);
await axe(page, "admin: open round with live counts");
check((await text(page)).includes("Påminnet"), "the counts with reminders");
await page.screenshot({ path: `${SHOTS}/admin-round-live.png`, fullPage: true });
await page.goto(`${BASE}/admin/runder/${OPEN}/brev`);
await axe(page, "admin: paper letters with QR codes");
check((await page.locator("svg.qr").count()) >= 1, "a QR code on each letter");
await page.emulateMedia({ media: "print" });
await page.screenshot({ path: `${SHOTS}/letters-print.png` });

await browser.close();
finish();
