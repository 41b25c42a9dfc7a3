/**
 * The operator's flag defaults, apart from operator/main.ts so the CLI can show them without loading the
 * Kubernetes client (the `router` subcommand never needs it).
 */
import { GATEWAY_DEFAULTS } from "./compile/defaults.js";

export const DEFAULT_CONTROLLER_NAME = GATEWAY_DEFAULTS["spec.controllerName"];
export const DEFAULT_LEASE_NAME = "routewise-operator";
