// The follow-up pages in Debian's Chromium: a leader sets a target and
// enters a measure on a phone, AMU goes through the overview of units above
// target, the register, the effect of measures and both reports (printed),
// and a leader answers a written account from the e-mailed link; axe-core
// (WCAG 2.1 A and AA) checks every page, some in all three languages.
// Run by tests/it/browser.rs with BASE, LEADER, AMU (sign-in links), UNIT
// (the leader's unit), ACCOUNT (the account's link), TERTIAL, HALF (report
// periods) and SHOTS. Prints one JSON line; exits 1 on any failed check.
import { launch, run, signIn, text } from "./common.mjs";

const { BASE, LEADER, AMU, UNIT, ACCOUNT, TERTIAL, HALF, SHOTS } = process.env;
const { check, axe, finish } = run();

const browser = await launch();

const signInAs = (link, viewport) => signIn(browser, link, viewport);

// A leader on a phone.
const phone = { width: 390, height: 844 };
let page = await signInAs(LEADER, phone);
await page.goto(`${BASE}/oppfolging?lang=nb`);
await axe(page, "leader: follow-up home (phone)");
check((await page.locator("html").evaluate((e) => e.scrollWidth)) <= phone.width, "phone: no sideways scrolling on the follow-up home");
await page.screenshot({ path: `${SHOTS}/followup-leader-phone.png`, fullPage: true });
for (const lang of ["nb", "nn", "en"]) {
  await page.goto(`${BASE}/oppfolging/enheter/${UNIT}?lang=${lang}`);
  await axe(page, `leader: unit follow-up (${lang})`);
}
await page.goto(`${BASE}/oppfolging/enheter/${UNIT}?lang=nb`);
await page.fill("#value", "6,5");
await page.locator("form[action*='/maal'] button[type=submit]").click();
await page.waitForLoadState();
check((await text(page)).includes("6,5"), "the leader's own target is shown");
await page.fill("#title", "Fagdag om tidlig dialog");
await page.selectOption("#type", "leder_for_lege");
await page.fill("#started_on", "2026-03-01");
await page.locator("form.plan[action*='/enheter/'][action*='/tiltak'] button[type=submit]").click();
await page.waitForURL("**#tiltak");
check((await text(page)).includes("Fagdag om tidlig dialog"), "the measure is listed on the unit's page");
await axe(page, "leader: unit follow-up with a target and a measure");
await page.screenshot({ path: `${SHOTS}/followup-unit-phone.png`, fullPage: true });
await page.goto(`${BASE}/tiltak?lang=nb`);
await axe(page, "leader: register (own units)");

// AMU on a desktop.
page = await signInAs(AMU, { width: 1280, height: 900 });
await page.goto(`${BASE}/oppfolging?lang=nb`);
await axe(page, "AMU: follow-up home");
await page.goto(`${BASE}/oppfolging/over-mal?lang=nb`);
await axe(page, "AMU: units above target");
check((await text(page)).includes("over målet"), "the overview counts units above target");
await page.screenshot({ path: `${SHOTS}/followup-above.png`, fullPage: true });
await page.goto(`${BASE}/oppfolging/over-mal/utskrift?lang=nb`);
await axe(page, "AMU: units above target, printable");
await page.emulateMedia({ media: "print" });
await page.screenshot({ path: `${SHOTS}/followup-above-print.png`, fullPage: true });
await page.emulateMedia({ media: "screen" });
await page.goto(`${BASE}/tiltak?lang=nb`);
await axe(page, "AMU: register");
await page.selectOption("#f-type", "dialogmote_null");
await page.locator("form[method=get] button[type=submit]").click();
await page.waitForLoadState();
check((await page.locator("table.plan tbody tr").count()) >= 3, "the register filters by type");
check(!(await text(page)).includes("Fagdag om tidlig dialog"), "the filter leaves out other types");
for (const lang of ["nb", "en"]) {
  await page.goto(`${BASE}/tiltak/effekt?lang=${lang}`);
  await axe(page, `AMU: effect of measures (${lang})`);
}
await page.goto(`${BASE}/tiltak/effekt?lang=nb`);
check((await page.locator("svg.chart.trend").count()) >= 1, "an event-study chart");
check((await text(page)).includes("valgte tiltakene selv"), "the caveat");
await page.screenshot({ path: `${SHOTS}/followup-effect.png`, fullPage: true });
await page.goto(`${BASE}/oppfolging/rapporter?lang=nb`);
await axe(page, "AMU: reports");
for (const [kind, period, lang] of [["tertial", TERTIAL, "nb"], ["ia", HALF, "nn"], ["tertial", TERTIAL, "en"]]) {
  await page.goto(`${BASE}/oppfolging/rapporter/${kind}/${period}?lang=${lang}`);
  await axe(page, `AMU: ${kind} report (${lang})`);
}
await page.goto(`${BASE}/oppfolging/rapporter/tertial/${TERTIAL}?lang=nb`);
check((await page.locator(".report section.new-page").count()) >= 3, "the report breaks pages between its parts");
check((await text(page)).includes("Vurdering av effekten"), "the report assesses the effect");
await page.emulateMedia({ media: "print" });
await page.screenshot({ path: `${SHOTS}/followup-tertial-print.png`, fullPage: true });
const pdf = await page.pdf({ format: "A4", displayHeaderFooter: false, printBackground: true });
check(pdf.length > 10000, "the report prints");

// A leader answers the account from the e-mailed link (no sign-in).
const ctx = await browser.newContext({ viewport: phone });
page = await ctx.newPage();
await page.goto(`${ACCOUNT}?lang=nb`);
await axe(page, "account form");
await page.locator("form button[type=submit]").evaluate((b) => b.form.noValidate = true);
await page.locator("form button[type=submit]").click();
await page.waitForLoadState();
await axe(page, "account form with problems");
check((await text(page)).includes("Skriv hva enheten gjør nå"), "the problem is named");
await page.fill("#done_now", "Dialogmøte null og tett oppfølging");
await page.fill("#planned", "Innsatsgruppe fra mars");
await page.check("#support-bht");
await page.locator("form button[type=submit]").click();
await page.waitForLoadState();
await axe(page, "account saved");
check((await text(page)).includes("redegjørelsen er lagret"), "the account is saved");
await page.screenshot({ path: `${SHOTS}/followup-account.png`, fullPage: true });

await browser.close();
finish();
