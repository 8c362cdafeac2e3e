/** The OpenAPI document is generated from the route schemas and covers every route; /docs renders it. */
import { afterAll, beforeAll, expect, it } from "vitest";
import { buildApp } from "../../src/http/app.js";
import { DOCS_UI_ROUTES } from "../../src/http/routes/docs.js";
import { startTestApp, type TestApp } from "../helpers/app.js";
import { FakeProvider } from "../helpers/fake-provider.js";

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ overrides: { provider: new FakeProvider() } });
});
afterAll(() => app.close());

interface Doc {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
        responses: Record<string, unknown>;
      }
    >
  >;
  components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
}

it("documents every registered route except the docs UI's own", async () => {
  const fresh = buildApp(app.container.services, {});
  await fresh.ready();
  const docsUi = DOCS_UI_ROUTES.map((r) => `${r.method} ${r.url}`);
  const registered = fresh.reelayRoutes.map((r) => `${r.method} ${r.url}`).filter((r) => !docsUi.includes(r));
  await fresh.close();
  const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as Doc;
  const documented = Object.entries(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map(
      (m) => `${m.toUpperCase()} ${path.replace("{key}", "*").replace(/\{(\w+)\}/g, ":$1")}`,
    ),
  );
  expect(documented.sort()).toEqual(registered.sort());
});

it("GET /openapi.json is OpenAPI 3.1 built from the schemas the routes validate with", async () => {
  const res = await fetch(`${app.url}/openapi.json`);
  expect(res.status).toBe(200);
  const doc = (await res.json()) as Doc;
  expect(doc.openapi).toBe("3.1.0");
  const create = doc.paths["/v1/video/create"]?.post?.requestBody?.content["application/json"]?.schema;
  expect(Object.keys((create?.properties as object) ?? {}).sort()).toEqual(
    // The seed's eight fields, callback_url (Reelay's addition for webhooks) and the optional
    // additions of issue 17.
    [
      "aspect_ratio",
      "audio",
      "last_frame",
      "negative_prompt",
      "reference_images",
      "resolution",
      "seed",
      "callback_url",
      "dry_run",
      "duration",
      "images",
      "model",
      "orientation",
      "private",
      "prompt",
      "size",
      "watermark",
    ].sort(),
  );
  expect([...((create?.required as string[] | undefined) ?? [])].sort()).toEqual(
    // orientation and size: required unless aspect_ratio / resolution say them (checked with the model).
    ["duration", "model", "prompt"].sort(),
  );
  expect(create?.additionalProperties).toBe(false);
  const videos = doc.paths["/v1/videos"]?.post?.requestBody?.content;
  expect(Object.keys(videos ?? {}).sort()).toEqual(["application/json", "multipart/form-data"]);
  for (const type of ["application/json", "multipart/form-data"])
    expect(Object.keys(videos?.[type]?.schema?.properties ?? {})).toEqual(
      expect.arrayContaining([
        "aspect_ratio",
        "resolution",
        "last_frame",
        "reference_images",
        "seed",
        "audio",
      ]),
    );
  // Every error code the server can send is in the Error schema's enum.
  const err = JSON.stringify(doc.components.schemas.Error);
  for (const code of ["invalid_request", "task_not_found", "video_not_ready", "admin_only"])
    expect(err).toContain(code);
  expect(Object.keys(doc.components.schemas.Video?.properties ?? {})).toContain("remixed_from_video_id");
});

it("every error response is the envelope and names its codes, and create lists all it answers", async () => {
  const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { responses: Record<string, { "x-error-codes"?: string[] }> }>>;
  };
  const create = doc.paths["/v1/video/create"]?.post?.responses ?? {};
  for (const status of ["200", "400", "401", "402", "403", "409", "413", "415", "429", "503"])
    expect(Object.keys(create)).toContain(status);
  expect(create["402"]?.["x-error-codes"]).toEqual(["insufficient_credits"]);
  expect(create["429"]?.["x-error-codes"]?.sort()).toEqual(["rate_limited", "too_many_active_tasks"]);
  for (const ops of Object.values(doc.paths))
    for (const op of Object.values(ops))
      for (const [status, r] of Object.entries(op.responses)) {
        if (Number(status) < 400 || status === "503") continue;
        expect(JSON.stringify(r)).toContain("#/components/schemas/Error");
        expect(r["x-error-codes"]?.length).toBeGreaterThan(0);
      }
});

it("GET /docs serves the Swagger UI page and its assets from the package", async () => {
  const page = await fetch(`${app.url}/docs/static/index.html`);
  expect(page.status).toBe(200);
  expect(await page.text()).toContain("swagger");
  const css = await fetch(`${app.url}/docs/static/swagger-ui.css`);
  expect(css.status).toBe(200);
  const spec = (await (await fetch(`${app.url}/docs/json`)).json()) as Doc;
  expect(spec.paths["/v1/videos/{id}"]).toBeDefined();
});

it("/docs/yaml and /docs/json show the whole document even when one of them is the first request", async () => {
  // The document is built on first use: a fresh app whose first request is /docs/yaml.
  const fresh = buildApp(app.container.services, {});
  try {
    const yaml = await fresh.inject({ method: "GET", url: "/docs/yaml" });
    expect(yaml.statusCode).toBe(200);
    expect(yaml.body).toContain("/v1/videos/{id}:");
    const json = (await fresh.inject({ method: "GET", url: "/docs/json" })).json();
    const own = (await fresh.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(json).toEqual(own);
    expect(Object.keys(own.paths as object).length).toBeGreaterThan(10);
  } finally {
    await fresh.close();
  }
});

it("documents the task event streams as text/event-stream with their resume parameter and 429", async () => {
  const doc = (await (await fetch(`${app.url}/openapi.json`)).json()) as {
    paths: Record<
      string,
      Record<
        string,
        {
          parameters?: { name: string; in: string }[];
          responses: Record<string, { content?: Record<string, unknown> }>;
        }
      >
    >;
  };
  for (const path of ["/v1/videos/{id}/events", "/v1/video/events"]) {
    const op = doc.paths[path]?.get;
    expect(Object.keys(op?.responses["200"]?.content ?? {}), path).toEqual(["text/event-stream"]);
    expect(
      op?.parameters?.map((p) => p.name),
      path,
    ).toContain("last_event_id");
    expect(JSON.stringify(op?.responses["429"]), path).toContain("too_many_streams");
    expect(JSON.stringify(op?.responses["404"]), path).toContain("task_not_found");
  }
});
