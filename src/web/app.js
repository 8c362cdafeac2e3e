/**
 * The Reelay web UI: sign in with an API key (or the admin token), then a hash router over the
 * views. Every view is a client of the public API (api.js).
 */
import { ApiError, createApi } from "./api.js";
import { h, showError } from "./dom.js";
import { adminView } from "./views/admin.js";
import { adminTaskView } from "./views/admin_task.js";
import { dashboardView } from "./views/dashboard.js";
import { galleryView } from "./views/gallery.js";
import { playgroundView } from "./views/playground.js";
import { taskView } from "./views/task.js";
import { tasksView } from "./views/tasks.js";

const STORE = "reelay.session";

/** @typedef {{ token: string, role: "user" | "admin" }} Session */

/** @returns {Session | null} */
function loadSession() {
  try {
    const s = JSON.parse(sessionStorage.getItem(STORE) ?? "null");
    return s && typeof s.token === "string" && (s.role === "user" || s.role === "admin") ? s : null;
  } catch {
    return null;
  }
}

/** @type {Session | null} */
let session = loadSession();
const api = createApi(() => session?.token ?? null);

/** Shared with the views: the API, navigation, and who is signed in. */
export const ctx = {
  api,
  go: (/** @type {string} */ hash) => {
    location.hash = hash;
  },
  role: () => session?.role ?? null,
  /** Called by a view when the server says the key stopped working. */
  expired: () => signOut("Your key is no longer accepted. Sign in again."),
};

/** Which kind of token this is: a user key answers /v1/models, the admin token /admin/keys. */
async function identify(/** @type {string} */ token) {
  const probe = createApi(() => token);
  try {
    await probe.models();
    return "user";
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 401) throw e;
    try {
      await probe.admin.keys();
      return "admin";
    } catch {
      throw e;
    }
  }
}

/**
 * Who the signed-in key is (`GET /v1/me`: its owner and name), asked once per sign-in.
 * @type {Promise<{ owner_id: string, key: { name: string } }> | null}
 */
let me = null;

let signInNotice = "";
function signOut(/** @type {string} */ notice = "") {
  session = null;
  me = null;
  sessionStorage.removeItem(STORE);
  signInNotice = notice;
  location.hash = "#/signin";
  render();
}

function signInView() {
  const err = h("p", { class: "alert", role: "alert", id: "signin-error", hidden: true });
  const input = /** @type {HTMLInputElement} */ (
    h("input", {
      id: "api-key",
      name: "api-key",
      type: "password",
      autocomplete: "current-password",
      placeholder: "rl-…",
      required: true,
      "aria-describedby": "signin-error",
    })
  );
  const submit = /** @type {HTMLButtonElement} */ (
    h("button", { type: "submit", class: "btn btn-primary" }, "Sign in")
  );
  const form = h(
    "form",
    { class: "card signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, "Sign in to Reelay"),
    h(
      "p",
      { class: "muted" },
      "Paste an API key to make videos, or the admin token to manage keys and balances.",
    ),
    h("label", { for: "api-key" }, "API key"),
    input,
    err,
    submit,
    h("p", { class: "muted small" }, "The key stays in this browser tab and is sent only to this server."),
    h("p", null, h("a", { href: "#/gallery" }, "Browse the public gallery without signing in →")),
  );
  if (signInNotice) showError(err, signInNotice);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return showError(err, "Enter a key.");
    submit.disabled = true;
    showError(err, "");
    try {
      const role = await identify(token);
      session = { token, role };
      me = null;
      sessionStorage.setItem(STORE, JSON.stringify(session));
      signInNotice = "";
      location.hash = role === "admin" ? "#/admin" : "#/create";
      render();
    } catch (e) {
      showError(
        err,
        e instanceof ApiError && e.status === 401
          ? `This key was not accepted: ${e.message}`
          : String(e instanceof Error ? e.message : e),
      );
    } finally {
      submit.disabled = false;
    }
  });
  return h("section", { class: "narrow" }, form);
}

const ROUTES = {
  create: { label: "Create", role: "user", view: playgroundView },
  tasks: { label: "My videos", role: "user", view: tasksView },
  gallery: { label: "Gallery", role: null, view: galleryView },
  admin: { label: "Keys & balances", role: "admin", view: adminView },
  dashboard: {
    label: "Dashboard",
    role: "admin",
    view: (/** @type {typeof ctx} */ c, /** @type {(fn: () => void) => void} */ onCleanup) =>
      dashboardView(c, "now", onCleanup),
  },
};

function renderChrome(/** @type {string} */ current) {
  const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
  const sessionBox = /** @type {HTMLElement} */ (document.getElementById("session"));
  nav.replaceChildren(
    ...Object.entries(ROUTES)
      .filter(([, r]) => r.role === null || r.role === session?.role)
      .map(([name, r]) =>
        h(
          "a",
          { href: `#/${name}`, class: "nav-link", "aria-current": name === current ? "page" : false },
          r.label,
        ),
      ),
  );
  const balance = h("span", { class: "balance", id: "balance", hidden: true });
  const who = h("span", { class: "who", id: "who" }, session?.role === "admin" ? "Admin" : "Signed in");
  sessionBox.replaceChildren(
    session
      ? h(
          "span",
          { class: "session-inner" },
          balance,
          who,
          h("button", { type: "button", class: "btn btn-ghost", onclick: () => signOut() }, "Sign out"),
        )
      : h("a", { href: "#/signin", class: "btn btn-ghost" }, "Sign in"),
  );
  if (session?.role === "user") {
    void showBalance(balance);
    void showWho(who);
  }
}

/**
 * "Signed in as <key name> · owner <owner>": the key's name first (people name their keys; owner
 * ids are often generated and long, so they are the part cut short on a narrow screen).
 */
async function showWho(/** @type {HTMLElement} */ el) {
  try {
    me ??= api.me();
    const m = await me;
    el.replaceChildren("Signed in as ", h("strong", null, m.key.name), ` · owner ${m.owner_id}`);
    el.title = `Key “${m.key.name}” of owner ${m.owner_id}`;
  } catch {
    // Keep "Signed in": a failed look-up must not disturb the page (an expired key is noticed by the views).
    me = null;
  }
}

/** The signed-in owner's credit balance, when billing is on (fetched on every route change). */
async function showBalance(/** @type {HTMLElement} */ el) {
  try {
    const u = /** @type {{ billing: boolean, balance: number }} */ (await api.usage());
    if (!u.billing) return;
    el.textContent = `${u.balance.toLocaleString("en-US")} credits`;
    el.title = "Your credit balance";
    el.hidden = false;
  } catch {
    // The balance is a nicety: a failure here must not disturb the page.
  }
}

/** Views register cleanups (timers) here; they run when the route changes. */
let cleanups = /** @type {(() => void)[]} */ ([]);

function render() {
  for (const c of cleanups) c();
  cleanups = [];
  const main = /** @type {HTMLElement} */ (document.getElementById("main"));
  const [, name = "", ...rest] = location.hash.replace(/^#/, "").split("/");
  const onCleanup = (/** @type {() => void} */ fn) => cleanups.push(fn);
  if (name === "task" && session?.role === "user") {
    renderChrome("tasks");
    main.replaceChildren(taskView(ctx, decodeURIComponent(rest.join("/")), onCleanup));
    return;
  }
  if ((name === "dashboard" || name === "admin-task") && session?.role === "admin") {
    renderChrome("dashboard");
    const path = rest.join("/");
    main.replaceChildren(
      name === "dashboard"
        ? dashboardView(ctx, path || "now", onCleanup)
        : adminTaskView(ctx, decodeURIComponent(path)),
    );
    main.focus({ preventScroll: true });
    return;
  }
  const route = /** @type {Record<string, (typeof ROUTES)[keyof typeof ROUTES]>} */ (ROUTES)[name];
  if (!route || (route.role !== null && route.role !== session?.role)) {
    if (session && name !== "signin") {
      location.replace(session.role === "admin" ? "#/admin" : "#/create");
      return;
    }
    renderChrome("signin");
    main.replaceChildren(signInView());
    return;
  }
  renderChrome(name);
  main.replaceChildren(route.view(ctx, onCleanup));
  main.focus({ preventScroll: true });
}

window.addEventListener("hashchange", render);
render();
