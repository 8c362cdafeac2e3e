/**
 * Models of channel kind `newapi` (another new-api relay): none built in. A new-api relay serves
 * whatever models its operator set up, under its own names, so a `newapi` channel serves the
 * catalogue's models it is given: with `models: "*"` the sora-2 family and every catalogue model
 * without provider-specific upstream ids; by name (`["veo-3.1"]`) any catalogue model, its Reelay
 * name sent as the model id (a new-api relay knows its own names); a rename goes through the
 * channel's `models` map (`{"veo-3.1": "veo-3.1-generate-preview"}`). Prices: new-api publishes no
 * list price (each relay sets its own), so none is given here.
 *
 * Source: QuantumNous/new-api README and docs.newapi.pro (the video task API).
 */
import type { ModelCapability } from "../capability.js";

export const NEWAPI_MODELS: readonly ModelCapability[] = [];
