// The result and administrator pages in Debian's Chromium: a leader, an AMU
// member and an administrator sign in with their links and go through their
// pages; axe-core (WCAG 2.1 A and AA) checks every page; the leader's unit
// page is photographed at phone and desktop width, and its charts measured.
// Run by tests/it/browser.rs with BASE, LEADER, AMU, ADMIN (sign-in links),
// ROUND, UNIT, HIDDEN (group ids), IMPORT (a CSV file) and SHOTS. Prints
// one JSON line; exits 1 on any failed check.
import { launch, run, signIn } from "./common.mjs";

const { BASE, LEADER, AMU, ADMIN, ROUND, UNIT, HIDDEN, IMPORT, SHOTS } = process.env;
const { check, axe, finish } = run();
const charts = {};

const browser = await launch();

const signInAs = (link, viewport) => signIn(browser, link, viewport, (p) => axe(p, "sign-in button"));

async function measureCharts(page, name) {
  const boxes = await page.locator("svg.chart").evaluateAll((els) => els.map((e) => {
    const r = e.getBoundingClientRect();
    return { w: r.width, h: r.height, bars: e.querySelectorAll("rect").length };
  }));
  charts[name] = { count: boxes.length, width: boxes.length ? Math.round(boxes[0].w) : 0 };
  return boxes;
}

// The leader, on a phone.
const phone = { width: 390, height: 844 };
let page = await signInAs(LEADER, phone);
await axe(page, "leader: results list");
await page.goto(`${BASE}/resultater/${ROUND}/${UNIT}?lang=nb`);
await axe(page, "leader: unit page (phone)");
let boxes = await measureCharts(page, "phone");
check(boxes.length >= 10, `phone: ${boxes.length} charts`);
check(boxes.every((b) => b.w >= 300 && b.h >= 20 && b.bars >= 2), `phone: charts too small ${JSON.stringify(boxes[0])}`);
check((await page.locator("html").evaluate((e) => e.scrollWidth)) <= phone.width, "phone: no sideways scrolling");
await page.screenshot({ path: `${SHOTS}/leader-phone.png`, fullPage: true });
await page.locator("details summary").first().click();
await axe(page, "leader: an item distribution opened");
// Record a measure in the action plan.
await page.selectOption("#factor", { index: 2 });
await page.fill("#measure", "Fagdag om oppfølging i januar");
await page.fill("#responsible", "Enhetsleder");
await page.fill("#due_on", "2027-01-31");
await page.locator("form.plan button[type=submit]").click();
await page.waitForURL("**#tiltak");
check((await page.locator("table.plan").textContent()).includes("Fagdag om oppfølging"), "the measure is listed");
await axe(page, "leader: unit page with a plan");
await page.goto(`${BASE}/resultater/${ROUND}/${HIDDEN}?lang=nb`);
await axe(page, "leader: hidden unit");
check((await page.locator("main").textContent()).includes("Færre enn 5 svar — resultatene vises på nivået over"), "the hidden message");
check((await page.locator("svg.chart").count()) === 0, "no chart for a hidden unit");
await page.goto(`${BASE}/resultater/${ROUND}/${UNIT}/utskrift?lang=nb`);
await axe(page, "leader: print version");
await page.emulateMedia({ media: "print" });
await page.screenshot({ path: `${SHOTS}/leader-print.png`, fullPage: true });

// The same page on a desktop.
const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
const dpage = await desk.newPage();
await dpage.context().addCookies((await page.context().cookies()));
await dpage.goto(`${BASE}/resultater/${ROUND}/${UNIT}?lang=nb`);
boxes = await measureCharts(dpage, "desktop");
check(boxes.length >= 10 && boxes[0].w >= 600, `desktop: charts ${JSON.stringify(boxes[0])}`);
await dpage.screenshot({ path: `${SHOTS}/leader-desktop.png`, fullPage: false });
await axe(dpage, "leader: unit page (desktop)");

// An AMU member.
page = await signInAs(AMU, { width: 1280, height: 900 });
await page.locator("main a").first().click();
await axe(page, "AMU: organisation page");
check((await page.locator("table.background").count()) >= 3, "background tables on the organisation page");
check((await page.locator("table.reliability").count()) === 1, "reliability table");
await page.screenshot({ path: `${SHOTS}/amu-organisation.png`, fullPage: true });
await page.goto(`${BASE}/amu?lang=nb`);
await axe(page, "AMU: analysis page");
check((await page.locator(".summary").textContent()).includes("ikke årsaker"), "the summary with its caveat");
check((await page.locator("svg.chart.forest").count()) >= 10, "a forest plot row per factor");
check((await page.locator("svg.chart.scatter").count()) >= 3, "scatter plots");
check((await page.locator("svg.chart.trend").count()) === 1, "the trend chart");
await page.goto(`${BASE}/amu/rapport?lang=nb`);
await axe(page, "AMU: printable report");
await page.emulateMedia({ media: "print" });
check((await page.locator("svg.chart.scatter").count()) >= 3, "the report has its charts");
await page.screenshot({ path: `${SHOTS}/amu-report.png`, fullPage: true });
await page.emulateMedia({ media: "screen" });
await page.goto(`${BASE}/tiltak?lang=nb`);
await axe(page, "AMU: action plans across units");
check((await page.locator("main").textContent()).includes("Oppvekst"), "AMU sees the leader's plan");

// The administrator.
page = await signInAs(ADMIN, { width: 1280, height: 900 });
await page.goto(`${BASE}/admin?lang=nb`);
await axe(page, "admin: overview");
await page.screenshot({ path: `${SHOTS}/admin.png`, fullPage: true });
await page.goto(`${BASE}/admin/runder/${ROUND}?lang=nb`);
await axe(page, "admin: round");
// The record of processing, in each language, and printed.
for (const lang of ["nb", "nn", "en"]) {
  await page.goto(`${BASE}/admin/behandling?lang=${lang}`);
  await axe(page, `admin: record of processing (${lang})`);
}
check((await page.locator("main").textContent()).includes("k = 5"), "the record states k");
await page.emulateMedia({ media: "print" });
await page.screenshot({ path: `${SHOTS}/record-print.png`, fullPage: true });
await page.emulateMedia({ media: "screen" });
await page.goto(`${BASE}/admin/behandling?lang=nb`);
await page.screenshot({ path: `${SHOTS}/record.png`, fullPage: true });
await page.goto(`${BASE}/admin?lang=nb`);
await page.selectOption("#kind", "units");
await page.setInputFiles("#file", IMPORT);
await page.locator("form[enctype] button[type=submit]").click();
await page.waitForLoadState();
await axe(page, "admin: import preview");
check((await page.locator("main").textContent()).includes("Lagt til"), "the preview lists what would change");
await page.locator("main form button[type=submit]").click();
await page.waitForLoadState();
await axe(page, "admin: import done");
check((await page.locator("main").textContent()).includes("Importert"), "the import was applied");

await browser.close();
finish({ charts });
