/**
 * For the admin token: the API keys (create, revoke) and each owner's credit balance (top up).
 * Keys are listed without their secrets; a new key is shown once, right after it is made.
 */
import { ApiError } from "../api.js";
import { actionButton, formatTime, h, showError } from "../dom.js";

/**
 * @param {import("../app.js").ctx} ctx
 */
export function adminView(ctx) {
  const err = h("p", { class: "alert", role: "alert", hidden: true });
  const keysBody = h("tbody", { id: "keys" });
  const owners = h("ul", { class: "owners", id: "owners" });
  const created = h("div", { class: "created-key", id: "created-key", hidden: true });

  const fail = (/** @type {unknown} */ e) => {
    if (e instanceof ApiError && e.status === 401) return ctx.expired();
    showError(err, e instanceof Error ? e.message : String(e));
  };

  const keyState = (/** @type {any} */ k) =>
    k.revoked_at ? "revoked" : k.expires_at && k.expires_at * 1000 < Date.now() ? "expired" : "live";

  const ownerRow = (/** @type {string} */ owner) => {
    const balance = h("span", { class: "balance" }, "…");
    const rowErr = h("p", { class: "field-error", role: "alert", hidden: true });
    const amount = /** @type {HTMLInputElement} */ (
      h("input", {
        type: "number",
        min: 1,
        step: 1,
        value: 100,
        "aria-label": `Credits to add to ${owner}`,
        class: "amount",
      })
    );
    const show = (/** @type {any} */ a) => {
      balance.textContent = `${a.balance} credits left · ${a.used} used`;
    };
    ctx.api.admin
      .account(owner)
      .then(show, (/** @type {unknown} */ e) =>
        showError(rowErr, e instanceof Error ? e.message : String(e)),
      );
    return h(
      "li",
      { class: "owner", "data-owner": owner },
      h("div", null, h("p", { class: "mono small" }, owner), balance),
      h(
        "div",
        { class: "topup" },
        amount,
        actionButton(
          "Top up",
          async () => show(await ctx.api.admin.topUp(owner, Number(amount.value))),
          rowErr,
          "btn btn-small",
        ),
      ),
      rowErr,
    );
  };

  const load = async () => {
    try {
      const list = await ctx.api.admin.keys();
      keysBody.replaceChildren(
        ...list.data.map((/** @type {any} */ k) => {
          const state = keyState(k);
          const rowErr = h("p", { class: "field-error", role: "alert", hidden: true });
          return h(
            "tr",
            { "data-key": k.id },
            h("td", { "data-label": "Name" }, k.name),
            h("td", { "data-label": "Prefix", class: "mono" }, `${k.prefix}…`),
            h("td", { "data-label": "Owner", class: "mono small" }, k.owner_id),
            h("td", { "data-label": "Created" }, formatTime(k.created_at)),
            h(
              "td",
              { "data-label": "State" },
              h("span", { class: `badge badge-${state === "live" ? "completed" : "failed"}` }, state),
            ),
            h(
              "td",
              { "data-label": "" },
              state === "live"
                ? actionButton(
                    "Revoke",
                    async () => {
                      await ctx.api.admin.revokeKey(k.id);
                      await load();
                    },
                    rowErr,
                    "btn btn-small btn-danger",
                  )
                : null,
              rowErr,
            ),
          );
        }),
      );
      if (list.data.length === 0)
        keysBody.append(h("tr", null, h("td", { colspan: 6, class: "empty" }, "No keys yet.")));
      const ownerIds = [...new Set(list.data.map((/** @type {any} */ k) => k.owner_id))];
      owners.replaceChildren(...ownerIds.map(ownerRow));
      if (ownerIds.length === 0) owners.append(h("li", { class: "empty" }, "No owners yet."));
    } catch (e) {
      fail(e);
    }
  };

  const name = /** @type {HTMLInputElement} */ (
    h("input", { id: "key-name", name: "key-name", placeholder: "default" })
  );
  const owner = /** @type {HTMLInputElement} */ (
    h("input", { id: "key-owner", name: "key-owner", placeholder: "a new owner" })
  );
  const createErr = h("p", { class: "field-error", role: "alert", hidden: true });
  const form = h(
    "form",
    { class: "inline-form", id: "create-key" },
    h("div", { class: "field" }, h("label", { for: "key-name" }, "Name"), name),
    h("div", { class: "field" }, h("label", { for: "key-owner" }, "Owner id (optional)"), owner),
    h("button", { type: "submit", class: "btn btn-primary" }, "Create key"),
    createErr,
  );
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(createErr, "");
    try {
      const k = await ctx.api.admin.createKey({
        ...(name.value.trim() ? { name: name.value.trim() } : {}),
        ...(owner.value.trim() ? { owner_id: owner.value.trim() } : {}),
      });
      const secret = h("code", { class: "secret", id: "new-key" }, k.key);
      created.replaceChildren(
        h("p", null, h("strong", null, "New key — copy it now, it is not shown again:")),
        secret,
        h(
          "button",
          { type: "button", class: "btn btn-small", onclick: () => navigator.clipboard?.writeText(k.key) },
          "Copy",
        ),
      );
      created.hidden = false;
      name.value = "";
      owner.value = "";
      await load();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return ctx.expired();
      showError(createErr, e instanceof Error ? e.message : String(e));
    }
  });

  load();
  return h(
    "section",
    { class: "wide" },
    h("div", { class: "page-head" }, h("h1", null, "Keys & balances")),
    err,
    h("div", { class: "card" }, h("h2", null, "New API key"), form, created),
    h(
      "div",
      { class: "card" },
      h("h2", null, "API keys"),
      h(
        "table",
        { class: "table" },
        h(
          "thead",
          null,
          h("tr", null, ...["Name", "Prefix", "Owner", "Created", "State", ""].map((c) => h("th", null, c))),
        ),
        keysBody,
      ),
    ),
    h(
      "div",
      { class: "card" },
      h("h2", null, "Balances"),
      h("p", { class: "muted small" }, "Credits are spent only when a price table is configured."),
      owners,
    ),
  );
}
